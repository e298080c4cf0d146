"""Fixtures of the command-line tests: the fake detector's database and a random photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tests.guard.fakes  # noqa: F401  (registers the fake detector)
from tests.guard.fakes import DB_YAML


@pytest.fixture
def fake_db(tmp_path: Path) -> Path:
    f = tmp_path / "db.yaml"
    f.write_text(DB_YAML)
    return f


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    p = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (128, 160, 3), dtype=np.uint8)).save(p)
    return p
