"""DeepJSCC-DP: the Laplace mechanism on the transmitted features.

Reference: the DeepJSCC-DP baseline of Y. Wang, S. Guo, Y. Deng, H. Zhang, Y. Fang,
"Privacy-Preserving Task-Oriented Semantic Communications Against Model Inversion
Attacks", IEEE TWC 2024 (arXiv:2312.03252), after C. Dwork, A. Roth, "The Algorithmic
Foundations of Differential Privacy" (2014), Sec. 3.3 (Laplace mechanism).

::

    z [B,k] complex --view as 2k reals--> clip to [-c, c] --+ Laplace(0, b), b = Delta / epsilon
                                                           --> complex --> power_normalize (P = 1) --> channel

Sensitivity ``Delta``: each released coordinate is clipped to ``[-c, c]``, so changing
the input changes it by at most ``Delta = 2c`` (the default); every coordinate is then
``epsilon``-DP on its own (local DP per coordinate; the whole vector of ``2k``
coordinates is ``2k*epsilon``-DP by basic composition: say so wherever it matters).
The noise is added at the transmitter, before the power constraint, so the sent
symbols still have unit average power and the useful signal shrinks as the noise
grows. The receiver cannot remove it: ``invert`` is the identity.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from vlm_privsc.channel.base import power_normalize
from vlm_privsc.errors import ConfigError
from vlm_privsc.schemes.base import SCHEMES, Scheme, check_symbols


def laplace_noise(
    shape: tuple[int, ...],
    scale: float,
    generator: torch.Generator | None = None,
    *,
    device: torch.device | str | None = None,
) -> Tensor:
    """Samples of Laplace(0, ``scale``) by the inverse CDF (torch's Laplace takes no generator)."""
    u = torch.rand(shape, generator=generator, device=device) - 0.5
    u = u.clamp(-0.5 + 1e-7, 0.5 - 1e-7)
    return -scale * torch.sign(u) * torch.log1p(-2.0 * u.abs())


@SCHEMES.register("dp")
class LaplaceDP(Scheme):
    """Laplace mechanism on the (clipped) real and imaginary parts of the symbols.

    Parameters: ``epsilon`` (privacy budget per coordinate, > 0; the survey uses 0.05,
    0.1 and 0.9), ``clip`` (``c``, the clipping bound that sets the sensitivity),
    ``sensitivity`` (default ``2*clip``), ``renormalize`` (power-normalise after the
    noise so the transmitter meets the power constraint; default True).
    """

    name = "dp"
    stage = "transmit"

    def __init__(
        self, epsilon: float = 0.1, clip: float = 1.0, sensitivity: float | None = None, renormalize: bool = True
    ) -> None:
        super().__init__()
        if not epsilon > 0:
            raise ConfigError(f"dp scheme: epsilon must be > 0, got {epsilon}")
        if not clip > 0:
            raise ConfigError(f"dp scheme: clip must be > 0, got {clip}")
        self.epsilon = float(epsilon)
        self.clip = float(clip)
        self.sensitivity = float(sensitivity) if sensitivity is not None else 2.0 * self.clip
        if not self.sensitivity > 0:
            raise ConfigError(f"dp scheme: sensitivity must be > 0, got {sensitivity}")
        self.renormalize = bool(renormalize)

    @property
    def scale(self) -> float:
        """Laplace scale ``b = sensitivity / epsilon`` (noise variance ``2 b^2`` per coordinate)."""
        return self.sensitivity / self.epsilon

    def apply(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:  # type: ignore[override]
        check_symbols(z, self.name)
        r = torch.view_as_real(z.to(torch.complex64)).clamp(-self.clip, self.clip)
        r = r + laplace_noise(tuple(r.shape), self.scale, generator, device=r.device)
        out = torch.view_as_complex(r.contiguous())
        return power_normalize(out) if self.renormalize else out

    def _params(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "clip": self.clip,
            "sensitivity": self.sensitivity,
            "scale": self.scale,
            "renormalize": self.renormalize,
        }
