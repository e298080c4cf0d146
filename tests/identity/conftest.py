"""Fixtures for the identity matchers: packaged photos and their pixel-aligned variants."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    """matplotlib's sample photo of Grace Hopper, 600x512 RGB: one face."""
    import matplotlib.cbook as cbook

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image.astype(np.float32) + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def blur_box(image: np.ndarray, box: tuple[float, ...], sigma: float) -> np.ndarray:
    """``image`` with the box region replaced by a heavy Gaussian blur of itself."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.GaussianBlur(image, (0, 0), sigma)[y0:y1, x0:x1]
    return out


def mask_box(image: np.ndarray, box: tuple[float, ...], value: int = 128) -> np.ndarray:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    out = image.copy()
    out[max(0, y0) : y1, max(0, x0) : x1] = value
    return out


def side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two photos on one canvas (b resized to a's height): an original with two faces."""
    h = a.shape[0]
    b2 = cv2.resize(b, (round(b.shape[1] * h / b.shape[0]), h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.concatenate([a, b2], axis=1))
