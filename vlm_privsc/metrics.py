"""Image-quality metrics of the legitimate receiver and the eavesdropper.

PSNR (optionally restricted to a pixel mask, e.g. the non-private pixels) and SSIM
(Wang et al. 2004) from scikit-image, on ``[1,3,H,W]`` tensors in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import structural_similarity


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """PSNR in dB (peak 1). ``mask`` (bool ``[1,1,H,W]``) restricts it to those pixels;
    an empty mask gives NaN, identical images give +inf."""
    diff = (a.float() - b.float()) ** 2
    if mask is not None:
        sel = mask.expand_as(diff)
        if not bool(sel.any()):
            return float("nan")
        mse = float(diff[sel].mean())
    else:
        mse = float(diff.mean())
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM over RGB (scikit-image, Gaussian window, data range 1)."""
    x = a[0].permute(1, 2, 0).detach().cpu().numpy().astype(np.float64)
    y = b[0].permute(1, 2, 0).detach().cpu().numpy().astype(np.float64)
    win = min(7, min(x.shape[:2]) // 2 * 2 - 1)
    return float(structural_similarity(x, y, data_range=1.0, channel_axis=2, win_size=max(3, win)))
