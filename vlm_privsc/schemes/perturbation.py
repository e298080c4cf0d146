"""A cooperative adversarial perturbation layer on the transmitted waveform.

Idea (physical-layer adversarial examples used *for* privacy): the transmitter adds a
small perturbation ``delta`` to its own symbols, crafted (PGD, Madry et al., ICLR 2018)
to make a *surrogate* eavesdropper classifier fail while a legitimate task head (when
given) keeps its decision. It needs no retraining of the legitimate link: the link may
have been trained only for its own task. References: A. Madry et al., "Towards Deep
Learning Models Resistant to Adversarial Attacks", ICLR 2018; M. Sadeghi, E. G.
Larsson, "Physical Adversarial Attacks Against End-to-End Autoencoder Communication
Systems", IEEE Commun. Lett. 2019 (perturbations on the air interface within a power
budget); the cooperative-perturbation privacy scheme of the survey reproduced here.

::

    z [B,k] --> PGD on delta:  maximise  CE(S(eve_channel(z + delta)), s0) - lam * CE(L(z + delta), l0)
                 s.t. ||delta||^2 <= 10^(psr_db/10) ||z||^2      (s0, l0: clean decisions of S, L)
            --> z + delta --> power_normalize --> channel

``surrogate`` (S) and ``legit`` (L) map complex symbols ``[B,k]`` to class logits.
The clean decisions stand in for labels, so no label is needed at transmit time. An
optional ``eve_channel`` (with ``eve_snr_db``) is sampled at every PGD step
(expectation over the channel). ``mode="random"``: a Gaussian perturbation of the
same power (an artificial-noise baseline, no surrogate needed).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vlm_privsc.channel.base import complex_normal, power_normalize
from vlm_privsc.errors import ConfigError
from vlm_privsc.schemes.base import SCHEMES, Scheme, check_symbols

Mode = Literal["pgd", "random"]


def _row_norm(t: Tensor) -> Tensor:
    return (t.real.square() + t.imag.square()).sum(dim=1, keepdim=True).sqrt()


@SCHEMES.register("perturbation")
class CooperativePerturbation(Scheme):
    """PGD perturbation within a power budget against a surrogate eavesdropper."""

    name = "perturbation"
    stage = "transmit"

    def __init__(
        self,
        surrogate: nn.Module | None = None,
        legit: nn.Module | None = None,
        psr_db: float = -10.0,
        steps: int = 10,
        step_size: float = 0.25,
        legit_weight: float = 1.0,
        eve_channel: nn.Module | None = None,
        eve_snr_db: float | None = None,
        mode: Mode = "pgd",
        renormalize: bool = True,
    ) -> None:
        super().__init__()
        if mode not in ("pgd", "random"):
            raise ConfigError(f"perturbation scheme: mode must be 'pgd' or 'random', got {mode!r}")
        if steps < 1:
            raise ConfigError(f"perturbation scheme: steps must be >= 1, got {steps}")
        if eve_channel is not None and eve_snr_db is None:
            raise ConfigError("perturbation scheme: eve_channel needs eve_snr_db")
        self.surrogate = surrogate
        self.legit = legit
        self.psr_db = float(psr_db)
        self.steps = int(steps)
        self.step_size = float(step_size)
        self.legit_weight = float(legit_weight)
        self.eve_channel = eve_channel
        self.eve_snr_db = eve_snr_db
        self.mode: Mode = mode
        self.renormalize = bool(renormalize)

    def unmet_needs(self) -> str | None:
        if self.mode == "pgd" and self.surrogate is None:
            return (
                "mode 'pgd' needs a surrogate eavesdropper model, which a pipeline preset cannot hold; "
                "set the preset's scheme params to {mode: random} (random perturbation at psr_db) or use "
                "scripts/repro_multitask.py"
            )
        return None

    @property
    def psr(self) -> float:
        """Perturbation-to-signal power ratio (linear)."""
        return 10.0 ** (self.psr_db / 10.0)

    def _project(self, delta: Tensor, radius: Tensor) -> Tensor:
        n = _row_norm(delta)
        return delta * torch.clamp(radius / (n + 1e-12), max=1.0)

    def perturbation(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The perturbation ``delta`` (``||delta||^2 <= psr * ||z||^2`` per image)."""
        check_symbols(z, self.name)
        z = z.detach().to(torch.complex64)
        radius = self.psr**0.5 * _row_norm(z)
        if self.mode == "random":
            d = complex_normal(tuple(z.shape), generator, device=z.device)
            return d * radius / (_row_norm(d) + 1e-12)
        if self.surrogate is None:
            raise ConfigError(
                "perturbation scheme: mode 'pgd' needs a surrogate eavesdropper model "
                "(build_scheme('perturbation', surrogate=...)) or mode='random'"
            )
        s, leg = self.surrogate, self.legit
        with torch.no_grad():
            s0 = s(z).argmax(-1)
            l0 = leg(z).argmax(-1) if leg is not None else None
        # random start inside the ball (seeded), then normalised-gradient ascent steps
        d0 = complex_normal(tuple(z.shape), generator, device=z.device)
        delta = self._project(0.5 * d0 * radius / (_row_norm(d0) + 1e-12), radius)
        alpha = self.step_size * radius
        with torch.enable_grad():
            for _ in range(self.steps):
                delta = delta.detach().requires_grad_(True)
                zp = z + delta
                ze = self.eve_channel(zp, self.eve_snr_db, generator) if self.eve_channel is not None else zp
                loss = F.cross_entropy(s(ze), s0, reduction="sum")
                if leg is not None and l0 is not None and self.legit_weight:
                    loss = loss - self.legit_weight * F.cross_entropy(leg(zp), l0, reduction="sum")
                (g,) = torch.autograd.grad(loss, delta)
                step = g / (_row_norm(g) + 1e-12)
                delta = self._project(delta.detach() + alpha * step, radius)
        return delta.detach()

    def apply(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:  # type: ignore[override]
        check_symbols(z, self.name)
        out = z.to(torch.complex64) + self.perturbation(z, generator)
        return power_normalize(out) if self.renormalize else out

    def _params(self) -> dict[str, Any]:
        return {
            "psr_db": self.psr_db,
            "steps": self.steps,
            "step_size": self.step_size,
            "legit_weight": self.legit_weight,
            "mode": self.mode,
            "eve_snr_db": self.eve_snr_db,
        }
