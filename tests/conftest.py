"""Shared test fixtures: offline environment, packaged photos, a fake detector."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins), 512x512 RGB: one face near (150-220, 30-120)."""
    import skimage.data

    return np.asarray(skimage.data.astronaut())


@pytest.fixture
def astronaut_png(tmp_path: Path, astronaut: np.ndarray) -> Path:
    from PIL import Image

    p = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(p)
    return p
