"""The evaluation tests use the pipeline tests' fast preset (fake detector, tiny JSCC)."""

from tests.pipeline.conftest import fast_preset, tiny_jscc  # noqa: F401
