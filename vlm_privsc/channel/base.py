"""Shared helpers for the channel models: power normalisation, SNR, bandwidth ratio.

Conventions (DESIGN.md): complex baseband symbols ``[B, N]`` with average power 1 per
complex symbol after :func:`power_normalize`; ``snr_db`` maps to the noise variance
``10**(-snr_db/10)`` per complex symbol (``E|n|^2``, split equally over I and Q);
the bandwidth ratio ``k/n`` counts complex channel uses per source dimension
(``3*H*W`` for an RGB image).
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
from torch import Tensor, nn

from vlm_privsc.errors import InputError

SnrLike = float | int | Tensor


def _check_complex(z: Tensor) -> None:
    if not torch.is_tensor(z) or not torch.is_complex(z):
        raise InputError(
            f"channel input must be a complex tensor [B, N], got "
            f"{type(z).__name__}{'' if not torch.is_tensor(z) else ' of dtype ' + str(z.dtype)}"
        )
    if z.dim() != 2:
        raise InputError(f"channel input must have shape [B, N], got {tuple(z.shape)}")


def power_normalize(z: Tensor, power: float = 1.0, eps: float = 1e-12, active: Tensor | None = None) -> Tensor:
    """Scale each row of ``z`` ([B, N] complex) to average power ``power`` per symbol.

    This is the average power constraint of DeepJSCC (Bourtsoulatze et al., 2019):
    ``(1/N) * sum_i |z_i|^2 = P`` holds exactly for every image, so every image
    spends the same transmit energy. Differentiable. ``active`` (bool ``[B, N]``): only
    those symbols are sent; the others become 0 and the average runs over the active ones.
    """
    _check_complex(z)
    if active is None:
        n: Tensor | int = z.shape[1]
    else:
        z = torch.where(active, z, torch.zeros_like(z))
        n = active.sum(dim=1, keepdim=True)
    energy = (z.real.square() + z.imag.square()).sum(dim=1, keepdim=True)
    return z * torch.sqrt(power * n / (energy + eps))


def average_power(z: Tensor) -> Tensor:
    """Mean power per complex symbol of each row of ``z`` -> ``[B]``."""
    return (z.real.square() + z.imag.square()).mean(dim=1)


SNR_RANGE_DB: tuple[float, float] = (-30.0, 60.0)
"""The SNRs a user may ask for. Below -30 dB the noise is a thousand times the signal (every
image decodes to its mean); above 60 dB the noise is below the 8-bit quantisation of the
photo (nothing changes any more), and its variance 1e-6 is still well inside float32."""


def check_snr_db(value: float, name: str = "snr_db") -> float:
    """``value`` as a float if it is a finite SNR inside :data:`SNR_RANGE_DB`; otherwise one
    :class:`InputError` line naming ``name`` (the option or field it came from)."""
    lo, hi = SNR_RANGE_DB
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: an SNR must be a number in dB (got {value!r})") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise InputError(f"{name}: SNR {value!r} dB is outside the valid range {lo:g} .. {hi:g} dB")
    return v


def snr_to_noise_var(snr_db: SnrLike, batch: int | None = None, *, device: torch.device | None = None) -> Tensor:
    """Noise variance per complex symbol for unit signal power: ``10**(-snr_db/10)``.

    ``snr_db`` may be a number, a 0-d tensor or a ``[B]`` tensor (one SNR per image);
    the result has shape ``[B, 1]`` (or ``[1, 1]``) so that it broadcasts over symbols.
    """
    s = torch.as_tensor(snr_db, dtype=torch.float32, device=device)
    if s.dim() > 1 or (s.dim() == 1 and batch is not None and s.numel() not in (1, batch)):
        raise InputError(f"snr_db must be a number or one value per image ({batch}), got shape {tuple(s.shape)}")
    if not torch.isfinite(s).all():
        raise InputError("snr_db must be finite")
    return torch.pow(10.0, -s / 10.0).reshape(-1, 1)


def complex_normal(
    shape: tuple[int, ...],
    generator: torch.Generator | None = None,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.complex64,
) -> Tensor:
    """Samples of CN(0, 1): independent real and imaginary parts of variance 1/2 each."""
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)


def bandwidth_ratio(k: int, h: int, w: int, channels: int = 3) -> Fraction:
    """Bandwidth ratio ``k/n``: ``k`` complex channel uses over ``n = channels*h*w`` source values.

    Returned as an exact :class:`fractions.Fraction` (``float()`` it for arithmetic).
    """
    if k <= 0 or h <= 0 or w <= 0 or channels <= 0:
        raise InputError(f"bandwidth_ratio needs positive sizes, got k={k}, h={h}, w={w}, channels={channels}")
    return Fraction(int(k), int(channels * h * w))


def parse_ratio(text: str | float | Fraction) -> Fraction:
    """Parse a bandwidth ratio written as ``"1/6"``, ``"0.1667"`` or a number."""
    try:
        r = Fraction(str(text).strip()).limit_denominator(10_000)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"cannot read bandwidth ratio {text!r}; write it as 1/6 or 0.1667") from None
    if not 0 < r <= 1:
        raise InputError(f"bandwidth ratio {text!r} must lie in (0, 1]")
    return r


class Channel(nn.Module):
    """Base class: a parameter-free, differentiable channel ``z -> y``.

    Input: ``z`` complex ``[B, N]`` with unit average power per symbol (see
    :func:`power_normalize`; the channel does not rescale it). ``snr_db``: a number or
    ``[B]`` tensor. ``generator``: a seeded :class:`torch.Generator` on ``z``'s device for
    reproducible draws (``None`` uses torch's global RNG). Output: complex ``[B, N]``.
    """

    name: str = "channel"

    def forward(self, z: Tensor, snr_db: SnrLike, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def _noise(self, z: Tensor, snr_db: SnrLike, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        _check_complex(z)
        var = snr_to_noise_var(snr_db, z.shape[0], device=z.device)
        n = complex_normal(tuple(z.shape), generator, device=z.device, dtype=z.dtype)
        return n * var.sqrt().to(z.real.dtype), var
