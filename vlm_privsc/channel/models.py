"""Channel models: complex AWGN and Rayleigh flat fading (block or fast).

::

    AWGN:      y = z + n                       n ~ CN(0, sigma^2),  sigma^2 = 10**(-SNR/10)
    Rayleigh:  r = h * z + n                   h ~ CN(0, 1)  (one per image: block; one per symbol: fast)
               zf:   y = r / h                 (= z + n/h)
               mmse: y = conj(h) r / (|h|^2 + sigma^2)
               none: y = r                     (receiver without CSI)

Each ``forward(z, snr_db, generator)`` takes unit-power complex symbols ``[B, N]`` and
returns the (equalised) received symbols of the same shape. Everything is
differentiable, so the channels can sit inside a training graph (DeepJSCC).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from vlm_privsc.channel.base import Channel, SnrLike, _check_complex, complex_normal
from vlm_privsc.errors import ConfigError
from vlm_privsc.registry import Registry

CHANNELS: Registry[Channel] = Registry("channel")


@CHANNELS.register("awgn")
class AWGNChannel(Channel):
    """Complex additive white Gaussian noise: ``y = z + n``, ``n ~ CN(0, 10**(-snr_db/10))``."""

    name = "awgn"

    def forward(self, z: Tensor, snr_db: SnrLike, generator: torch.Generator | None = None) -> Tensor:
        noise, _ = self._noise(z, snr_db, generator)
        return z + noise

    def extra_repr(self) -> str:
        return ""


Mode = Literal["block", "fast"]
Equalizer = Literal["zf", "mmse", "none"]


@CHANNELS.register("rayleigh")
class RayleighChannel(Channel):
    """Rayleigh flat fading ``r = h z + n`` with perfect-CSI equalisation at the receiver.

    ``mode="block"``: one coefficient ``h ~ CN(0,1)`` per image (row), constant over
    its symbols (slow fading); ``mode="fast"``: an independent ``h`` per symbol.
    ``equalizer``: ``"zf"`` (zero-forcing, ``r/h``), ``"mmse"`` (``h* r/(|h|^2+sigma^2)``)
    or ``"none"`` (the raw ``h z + n``, a receiver without CSI). ``snr_db`` is the
    average SNR ``E|h|^2 P / sigma^2`` (``E|h|^2 = 1``).

    The last coefficients drawn are kept in ``self.last_h`` (``[B, 1]`` or ``[B, N]``)
    for tests and for receivers that want the CSI.
    """

    name = "rayleigh"

    def __init__(self, mode: Mode = "block", equalizer: Equalizer = "zf") -> None:
        super().__init__()
        if mode not in ("block", "fast"):
            raise ConfigError(f"rayleigh channel: mode must be 'block' or 'fast', got {mode!r}")
        if equalizer not in ("zf", "mmse", "none"):
            raise ConfigError(f"rayleigh channel: equalizer must be 'zf', 'mmse' or 'none', got {equalizer!r}")
        self.mode: Mode = mode
        self.equalizer: Equalizer = equalizer
        self.last_h: Tensor | None = None

    def draw_fading(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Fading coefficients for ``z``: ``[B, 1]`` (block) or ``[B, N]`` (fast), CN(0, 1)."""
        shape = (z.shape[0], 1) if self.mode == "block" else tuple(z.shape)
        return complex_normal(shape, generator, device=z.device, dtype=z.dtype)

    def forward(self, z: Tensor, snr_db: SnrLike, generator: torch.Generator | None = None) -> Tensor:
        # fading first, then noise: the draw order is part of the reproducibility contract
        _check_complex(z)
        h = self.draw_fading(z, generator)
        noise, var = self._noise(z, snr_db, generator)
        self.last_h = h.detach()
        r = h * z + noise
        if self.equalizer == "zf":
            return r / h
        if self.equalizer == "mmse":
            return h.conj() * r / (h.abs().square() + var.to(r.real.dtype))
        return r

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, equalizer={self.equalizer!r}"


@CHANNELS.register("rayleigh_block")
def _rayleigh_block(equalizer: Equalizer = "zf") -> RayleighChannel:
    return RayleighChannel(mode="block", equalizer=equalizer)


@CHANNELS.register("rayleigh_fast")
def _rayleigh_fast(equalizer: Equalizer = "zf") -> RayleighChannel:
    return RayleighChannel(mode="fast", equalizer=equalizer)


@CHANNELS.register("noiseless")
class IdentityChannel(Channel):
    """A perfect channel (``y = z``): for debugging and upper bounds."""

    name = "noiseless"

    def forward(self, z: Tensor, snr_db: SnrLike = 0.0, generator: torch.Generator | None = None) -> Tensor:
        _check_complex(z)
        return z


def build_channel(name: str, **params: object) -> Channel:
    """Build a channel by registry name (``awgn``, ``rayleigh``, ``rayleigh_block``, ...).

    Unknown names raise :class:`~vlm_privsc.errors.UnknownNameError` listing the valid
    ones; bad parameters raise :class:`~vlm_privsc.errors.ConfigError`.
    """
    return CHANNELS.build(name, **params)
