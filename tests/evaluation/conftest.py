"""Fixtures: a fast pipeline preset (fake detector, tiny untrained JSCC, bag-of-words embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tests.guard.fakes  # noqa: F401  (registers fixed_boxes)
from tests.guard.fakes import DB_YAML
from tests.semantics.test_transport import BagOfWords
from vlm_privsc.semantics import EMBEDDERS

if "bow_test" not in EMBEDDERS:
    EMBEDDERS.register("bow_test")(BagOfWords)


@pytest.fixture(scope="session")
def tiny_jscc(tmp_path_factory) -> Path:
    import torch

    from vlm_privsc.jscc import build_jscc, save_model

    torch.manual_seed(0)
    p = tmp_path_factory.mktemp("jscc") / "tiny.safetensors"
    save_model(build_jscc("adjscc", channels=(8, 8, 8, 8), latent_channels=4), p)
    return p


@pytest.fixture
def fast_preset(tmp_path: Path, tiny_jscc: Path) -> Path:
    db = tmp_path / "db.yaml"
    db.write_text(DB_YAML)
    preset = {
        "name": "test-fast",
        "guard": {"db": str(db), "policy": "faces"},
        "jscc": {"model": str(tiny_jscc), "max_side": 128},
        "channel": {"name": "awgn", "snr_db": 20, "eve_snr_db": 5},
        "semantic": {"embedder": {"name": "bow_test"}},
        "identity": {"matcher": {"name": "sface"}},
    }
    p = tmp_path / "preset.yaml"
    p.write_text(yaml.safe_dump(preset))
    return p
