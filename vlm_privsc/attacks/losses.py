"""Reconstruction losses and metrics of the model-inversion attacker (differentiable, torch only).

No perceptual network is available offline here (the ``lpips`` wheel ships only its
linear heads; the AlexNet/VGG backbones it needs are downloads), so the attacker's
"perceptual" term is structural similarity instead: loss = MSE + ``w`` (1 - SSIM)
(Z. Wang, A. Bovik, H. Sheikh, E. Simoncelli, "Image Quality Assessment: From Error
Visibility to Structural Similarity", IEEE TIP 2004; 7x7 uniform window as scikit-image).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def ssim_map(a: Tensor, b: Tensor, window: int = 7, data_range: float = 1.0) -> Tensor:
    """Per-image mean SSIM ``[B]`` of images ``[B,C,H,W]``: uniform ``window`` x ``window``
    statistics over valid positions (scikit-image's default ``structural_similarity``
    settings: win_size 7, no Gaussian weights, K1 0.01, K2 0.03, sample covariance)."""
    win = min(window, a.shape[-1], a.shape[-2])
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    np_ = win * win
    cov = np_ / (np_ - 1.0)

    def mean(t: Tensor) -> Tensor:
        return F.avg_pool2d(t, win, stride=1)

    mu_a, mu_b = mean(a), mean(b)
    saa = cov * (mean(a * a) - mu_a.square())
    sbb = cov * (mean(b * b) - mu_b.square())
    sab = cov * (mean(a * b) - mu_a * mu_b)
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a.square() + mu_b.square() + c1) * (saa + sbb + c2))
    return s.flatten(1).mean(1)


def ssim(a: Tensor, b: Tensor) -> Tensor:
    """Mean SSIM over the batch (a scalar tensor, differentiable)."""
    return ssim_map(a, b).mean()


def inversion_loss(rec: Tensor, target: Tensor, ssim_weight: float = 0.1, ssim_images: int | None = 32) -> Tensor:
    """The attacker's training loss: ``MSE + ssim_weight * (1 - SSIM)``.

    The SSIM term is estimated on the first ``ssim_images`` images of the (shuffled)
    batch: on this CPU it costs as much as the whole attacker network per image, and an
    unbiased estimate on a quarter of the batch is enough for its gradient.
    """
    loss = F.mse_loss(rec, target)
    if ssim_weight:
        n = rec.shape[0] if ssim_images is None else min(ssim_images, rec.shape[0])
        loss = loss + ssim_weight * (1.0 - ssim(rec[:n], target[:n]))
    return loss


def psnr_per_image(rec: Tensor, target: Tensor) -> Tensor:
    """PSNR in dB (peak 1) of each image ``[B]``."""
    mse = (rec.float() - target.float()).square().flatten(1).mean(1).clamp_min(1e-10)
    return 10.0 * torch.log10(1.0 / mse)


def mean_psnr(rec: Tensor, target: Tensor) -> float:
    """Mean of per-image PSNRs (dB)."""
    v = psnr_per_image(rec, target)
    return float(v.mean()) if v.numel() else math.nan
