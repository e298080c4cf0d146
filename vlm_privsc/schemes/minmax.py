"""Iterative min-max training against a trained eavesdropper (train-time scheme).

References: the adversarial privacy formulation of B. Erdemir, P. L. Dragotti,
D. Gunduz, "Privacy-Aware Communication Over a Wiretap Channel With Generative
Networks", ICASSP 2022, and the multi-task (classification + reconstruction)
legitimate receiver of the survey's min-max scheme; alternating updates as in GANs.

::

    for every batch:
      1) Eve (eve_steps updates, encoder frozen):  min  CE(Eve_cls(ch_E(z)), y) [+ MSE(Eve_rec(ch_E(z)), x)]
      2) encoder + Bob (Eve frozen):
         min  CE(Bob_cls(ch_B(z)), y) + rec_weight * MSE(Bob_rec(ch_B(z)), x)
              - privacy_weight * min(CE(Eve_cls(ch_E(z)), y), ln C)  - eve_rec_weight * min(MSE_E, cap)

Eve's cross-entropy is capped at chance level ``ln C`` (``C`` classes): beyond it the
encoder would only make Eve confidently wrong, which still leaks the label.

Schedule (the knobs GAN-style training needs to converge, all off by default):
``eve_warmup`` epochs of Eve alone on the frozen starting encoder, so the first encoder
updates follow a trained adversary rather than a random one; ``ramp``, the share of the
min-max steps over which the privacy weight rises linearly from 0 to ``privacy_weight``,
so Bob's features are not torn apart before Eve's gradient means anything; ``eve_steps``
Eve updates per encoder update (a stronger inner maximisation).

``apply``/``invert`` are the identity; the training loop is
:func:`vlm_privsc.schemes.training.train_minmax`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from vlm_privsc.errors import ConfigError
from vlm_privsc.schemes.base import SCHEMES, Scheme


@SCHEMES.register("minmax")
class MinMaxTraining(Scheme):
    """Loss weights of min-max training (identity at transmit time)."""

    name = "minmax"
    stage = "train"

    def __init__(
        self,
        privacy_weight: float = 1.0,
        rec_weight: float = 1.0,
        eve_rec_weight: float = 0.0,
        eve_steps: int = 1,
        num_classes: int = 10,
        eve_mse_cap: float = 0.1,
        eve_warmup: float = 0.0,
        ramp: float = 0.0,
    ) -> None:
        super().__init__()
        if privacy_weight < 0 or rec_weight < 0 or eve_rec_weight < 0 or eve_steps < 1 or num_classes < 2:
            raise ConfigError("minmax scheme: weights must be >= 0, eve_steps >= 1, num_classes >= 2")
        if eve_warmup < 0 or not 0.0 <= ramp <= 1.0:
            raise ConfigError("minmax scheme: eve_warmup must be >= 0 epochs and ramp a share in [0, 1]")
        self.privacy_weight = float(privacy_weight)
        self.rec_weight = float(rec_weight)
        self.eve_rec_weight = float(eve_rec_weight)
        self.eve_steps = int(eve_steps)
        self.num_classes = int(num_classes)
        self.eve_mse_cap = float(eve_mse_cap)
        self.eve_warmup = float(eve_warmup)
        self.ramp = float(ramp)

    @property
    def ce_cap(self) -> float:
        """Chance-level cross-entropy ``ln C``."""
        return math.log(self.num_classes)

    def weight_at(self, progress: float) -> float:
        """Privacy weight after ``progress`` (0..1) of the min-max steps: linear ramp, then flat."""
        if self.ramp <= 0.0:
            return self.privacy_weight
        return self.privacy_weight * min(1.0, max(0.0, progress) / self.ramp)

    def loss(
        self,
        bob_ce: Tensor,
        bob_mse: Tensor | None,
        eve_ce: Tensor,
        eve_mse: Tensor | None = None,
        *,
        progress: float = 1.0,
    ) -> Tensor:
        """Encoder/Bob objective (Eve frozen), with the privacy weight at ``progress`` of the schedule."""
        out = bob_ce - self.weight_at(progress) * torch.clamp(eve_ce, max=self.ce_cap)
        if bob_mse is not None:
            out = out + self.rec_weight * bob_mse
        if eve_mse is not None and self.eve_rec_weight:
            out = out - self.eve_rec_weight * torch.clamp(eve_mse, max=self.eve_mse_cap)
        return out

    def _params(self) -> dict[str, Any]:
        return {
            "privacy_weight": self.privacy_weight,
            "rec_weight": self.rec_weight,
            "eve_rec_weight": self.eve_rec_weight,
            "eve_steps": self.eve_steps,
            "eve_warmup": self.eve_warmup,
            "ramp": self.ramp,
        }
