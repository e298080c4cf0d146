"""Eavesdropper attacks on intercepted symbols: model inversion and classification.

- :class:`InversionAttacker` (symbols -> image) trained with MSE + (1 - SSIM)
  (no perceptual network is available offline: see :mod:`vlm_privsc.attacks.losses`);
- :class:`EavesdropperClassifier` (symbols -> class logits);
- :func:`train_inversion`, :func:`train_classifier`, :func:`evaluate_attack`.
"""

from vlm_privsc.attacks.losses import inversion_loss, mean_psnr, psnr_per_image, ssim, ssim_map
from vlm_privsc.attacks.models import EavesdropperClassifier, InversionAttacker
from vlm_privsc.attacks.train import (
    AttackResult,
    batches,
    evaluate_attack,
    to_float_images,
    train_classifier,
    train_inversion,
)

__all__ = [
    "AttackResult",
    "EavesdropperClassifier",
    "InversionAttacker",
    "batches",
    "evaluate_attack",
    "inversion_loss",
    "mean_psnr",
    "psnr_per_image",
    "ssim",
    "ssim_map",
    "to_float_images",
    "train_classifier",
    "train_inversion",
]
