"""Reconstruction losses and metrics of the model-inversion attacker (differentiable, torch only).

No perceptual network is available offline here (the ``lpips`` wheel ships only its
linear heads; the AlexNet/VGG backbones it needs are downloads), so the attacker's
"perceptual" term is structural similarity instead: loss = MSE + ``w`` (1 - SSIM)
(Wang et al., IEEE TIP 2004), the project's one SSIM (:mod:`vlm_privsc.measure.quality`:
Gaussian window 11, sigma 1.5), which is differentiable.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from vlm_privsc.measure.quality import psnr_per_image
from vlm_privsc.measure.quality import ssim_per_image as ssim_map

__all__ = ["inversion_loss", "mean_psnr", "psnr_per_image", "ssim", "ssim_map"]


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


def mean_psnr(rec: Tensor, target: Tensor) -> float:
    """Mean of per-image PSNRs (dB)."""
    v = psnr_per_image(rec, target)
    return float(v.mean()) if v.numel() else math.nan
