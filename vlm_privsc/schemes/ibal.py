"""IBAL: information bottleneck + adversarial learning against model inversion (train-time scheme).

Reference: Y. Wang, S. Guo, Y. Deng, H. Zhang, Y. Fang, "Privacy-Preserving
Task-Oriented Semantic Communications Against Model Inversion Attacks", IEEE TWC 2024
(arXiv:2312.03252). A variational encoder (Alemi et al., ICLR 2017) is trained for the
task with a KL bottleneck while a simulated model-inversion attacker, retrained every
epoch on the intercepted symbols, is pushed away::

    every epoch:  1) attacker A:  min_A  MSE(A(channel(z)), x) (+ SSIM term)       (encoder frozen)
                  2) encoder E + task head T (A frozen):
                     min  CE(T(channel(z)), y) + kl_weight * KL  -  1/(1+sigma) * MSE(A(channel(z)), x)

``sigma`` is the channel noise standard deviation at the training SNR
(``sqrt(10**(-snr/10))``, our reading of the paper's weight: a noisier channel already
protects, so the adversarial term weighs less); ``privacy_scale`` multiplies the
weight (1 in the paper). ``KL`` is the mean over latent dimensions of
``KL(N(mu, sigma^2) || N(0,1))``. At transmit time nothing is added: ``apply`` and
``invert`` are the identity; the protection is in the trained (stochastic) encoder.
The training loop is :func:`vlm_privsc.schemes.training.train_ibal`.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from vlm_privsc.errors import ConfigError
from vlm_privsc.schemes.base import SCHEMES, Scheme


@SCHEMES.register("ibal")
class IBAL(Scheme):
    """Loss weights and attacker schedule of IBAL training (identity at transmit time)."""

    name = "ibal"
    stage = "train"

    def __init__(
        self,
        train_snr_db: float = 12.0,
        kl_weight: float = 1.0,
        privacy_scale: float = 1.0,
        attacker_epochs: float = 0.5,
        attacker_lr: float = 1e-3,
        ssim_weight: float = 0.1,
    ) -> None:
        super().__init__()
        if kl_weight < 0 or privacy_scale < 0 or attacker_epochs <= 0:
            raise ConfigError("ibal scheme: kl_weight and privacy_scale must be >= 0 and attacker_epochs > 0")
        self.train_snr_db = float(train_snr_db)
        self.kl_weight = float(kl_weight)
        self.privacy_scale = float(privacy_scale)
        self.attacker_epochs = float(attacker_epochs)
        self.attacker_lr = float(attacker_lr)
        self.ssim_weight = float(ssim_weight)

    @property
    def sigma(self) -> float:
        """Channel noise standard deviation at the training SNR."""
        return math.sqrt(10.0 ** (-self.train_snr_db / 10.0))

    @property
    def privacy_weight(self) -> float:
        """``privacy_scale / (1 + sigma)``."""
        return self.privacy_scale / (1.0 + self.sigma)

    def loss(self, task_loss: Tensor, kl: Tensor, attacker_mse: Tensor) -> Tensor:
        """``task + kl_weight*KL - privacy_weight*attacker_MSE``."""
        return task_loss + self.kl_weight * kl - self.privacy_weight * attacker_mse

    def _params(self) -> dict[str, Any]:
        return {
            "train_snr_db": self.train_snr_db,
            "kl_weight": self.kl_weight,
            "privacy_scale": self.privacy_scale,
            "privacy_weight": self.privacy_weight,
            "attacker_epochs": self.attacker_epochs,
        }
