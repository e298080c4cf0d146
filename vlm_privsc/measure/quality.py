"""Image fidelity: the project's one PSNR and one SSIM.

SSIM is the Gaussian-window SSIM of Wang, Bovik, Sheikh, Simoncelli, "Image Quality
Assessment: From Error Visibility to Structural Similarity" (IEEE TIP 2004): an 11x11
window of sigma 1.5, K1 0.01, K2 0.03, data range 1, as torchmetrics implements it. It
is the variant the DeepJSCC literature reports, it is differentiable (the attackers'
training loss uses the same function) and it runs batched on tensors. Images smaller
than the window get the largest odd window that fits (at least 3 px), with the same
sigma. Every SSIM and PSNR of the project (``vlmsc run``, ``vlmsc eval``, the codec
benchmark, the generation measures, the schemes' attackers) comes from here.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def psnr_per_image(x: Tensor, y: Tensor) -> Tensor:
    """PSNR in dB (peak 1) of each image of ``[B,C,H,W]`` batches -> ``[B]`` (MSE floored at 1e-10)."""
    mse = (x.float() - y.float()).square().flatten(1).mean(1).clamp_min(1e-10)
    return -10.0 * torch.log10(mse)


def psnr(a: Tensor, b: Tensor, mask: Tensor | None = None) -> float:
    """PSNR in dB (peak 1) of two ``[1,3,H,W]`` images. ``mask`` (bool ``[1,1,H,W]``)
    restricts it to those pixels; an empty mask gives NaN, identical images +inf."""
    diff = (a.float() - b.float()) ** 2
    if mask is not None:
        sel = mask.expand_as(diff)
        if not bool(sel.any()):
            return float("nan")
        mse = float(diff[sel].mean())
    else:
        mse = float(diff.mean())
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


def ssim_window(h: int, w: int) -> int:
    """The SSIM window for an ``h`` x ``w`` image: 11, or the largest odd size that fits (>= 3)."""
    fit = min(SSIM_WINDOW, h, w)
    return max(3, fit if fit % 2 else fit - 1)


def ssim_per_image(x: Tensor, y: Tensor) -> Tensor:
    """SSIM of each image of ``[B,C,H,W]`` batches in [0, 1] -> ``[B]`` (differentiable)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    k = ssim_window(int(x.shape[-2]), int(x.shape[-1]))
    out = structural_similarity_index_measure(
        y.float(), x.float(), data_range=1.0, kernel_size=k, sigma=SSIM_SIGMA, reduction="none"
    )
    assert isinstance(out, Tensor)  # a tuple only with return_full_image / return_contrast_sensitivity
    return out.reshape(-1)


def ssim(a: Tensor, b: Tensor) -> float:
    """Mean SSIM over RGB of two ``[1,3,H,W]`` images in [0, 1]."""
    return float(ssim_per_image(a.detach(), b.detach()).mean())
