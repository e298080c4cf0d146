"""Measures of a generative receiver: naturalness, seams, quality inside the mask, intervals.

Used by :mod:`vlm_privsc.evaluation.bench.generation` (``scripts/eval_generation.py``; results in
``eval/results/generation/``):

- :func:`seam_ratio`: the mean gradient magnitude on a thin band across the mask's
  boundary divided by the image's own mean gradient magnitude on public pixels away
  from it (1 = the boundary is as busy as the photo; a visible seam gives more);
- :func:`region_quality`: PSNR on the masked pixels and SSIM on the mask's bounding box;
- :func:`hog_faces` + :func:`box_centred_in`: whether dlib's HOG face detector (Dalal-Triggs
  features with a linear SVM, King 2009; independent of the guard's CNN detectors and of
  the generator) finds a face centred inside a region;
- :func:`bootstrap_ci`: a percentile bootstrap interval of a mean over photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import torch

from vlm_privsc.io.images import to_uint8
from vlm_privsc.measure.quality import psnr, ssim


def _grey(img: torch.Tensor) -> np.ndarray:
    return cv2.cvtColor(to_uint8(img), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


def seam_ratio(img: torch.Tensor, mask: torch.Tensor, band: int = 2) -> float:
    """Gradient magnitude on the ``band``-px band around the mask's boundary over the
    mean gradient magnitude of public pixels farther than ``4*band`` px from it (NaN if
    either set is empty)."""
    g = _grey(img)
    mag = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    m = mask[0, 0].cpu().numpy().astype(np.uint8)
    k = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    ring = cv2.dilate(m, k).astype(bool) & ~cv2.erode(m, k).astype(bool)
    far = ~cv2.dilate(m, np.ones((8 * band + 1, 8 * band + 1), np.uint8)).astype(bool)
    if not ring.any() or not far.any():
        return float("nan")
    ref = float(mag[far].mean())
    return float(mag[ring].mean()) / ref if ref > 0 else float("nan")


@dataclass(frozen=True)
class RegionQuality:
    """Fidelity to the original inside a removed region."""

    psnr_mask: float
    """PSNR over the masked pixels (dB)."""
    ssim_box: float
    """SSIM over the mask's bounding box."""


def region_quality(original: torch.Tensor, restored: torch.Tensor, mask: torch.Tensor) -> RegionQuality:
    m = mask[0, 0].cpu().numpy()
    if not m.any():
        return RegionQuality(float("nan"), float("nan"))
    ys, xs = np.nonzero(m)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = (slice(None), slice(None), slice(y0, y1), slice(x0, x1))
    s = ssim(original[box], restored[box]) if min(y1 - y0, x1 - x0) >= 7 else float("nan")
    return RegionQuality(psnr(original, restored, mask), s)


@lru_cache(maxsize=1)
def _hog_detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


def hog_faces(img: torch.Tensor, upsample: int = 1) -> list[tuple[int, int, int, int]]:
    """dlib HOG face boxes ``(x0, y0, x1, y1)`` in an RGB image."""
    rects = _hog_detector()(np.ascontiguousarray(to_uint8(img)), upsample)
    return [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]


def box_centred_in(boxes: Sequence[Sequence[float]], region: torch.Tensor) -> bool:
    """True when one of ``boxes`` ``(x0, y0, x1, y1)`` has its centre inside ``region``
    (bool ``[1,1,H,W]``): a detector found something where a region was removed."""
    m = region[0, 0].cpu().numpy()
    for b in boxes:
        cx, cy = int((float(b[0]) + float(b[2])) / 2), int((float(b[1]) + float(b[3])) / 2)
        if 0 <= cy < m.shape[0] and 0 <= cx < m.shape[1] and m[cy, cx]:
            return True
    return False


def bootstrap_ci(
    values: Sequence[float], n: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of the finite ``values`` and its percentile bootstrap interval."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n, v.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(v.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))
