"""The evaluation tests use the pipeline tests' fast preset (fake detector, tiny JSCC)."""

from tests.evaluation.test_eval import faces_dir  # noqa: F401  (four photos, shared by the engine tests)
from tests.pipeline.conftest import fast_preset, tiny_jscc  # noqa: F401
