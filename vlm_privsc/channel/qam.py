"""Gray-coded square QAM (4, 16, 64) for the discrete (digital) schemes.

Bits are grouped ``log2(M)`` at a time; the first half of each group picks the
in-phase level and the second half the quadrature level, each through a Gray-coded
PAM with ``sqrt(M)`` levels ``{-(L-1), ..., -1, 1, ..., L-1}``, so neighbouring
points differ in one bit. The constellation is scaled to unit average power
(divide by ``sqrt(2(M-1)/3)``), which matches the channels' SNR convention.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from vlm_privsc.errors import ConfigError, InputError


def _gray(i: Tensor) -> Tensor:
    return i ^ (i >> 1)


def _gray_inverse(g: Tensor, nbits: int) -> Tensor:
    i = g.clone()
    shift = 1
    while shift < nbits:
        i = i ^ (i >> shift)
        shift <<= 1
    return i


class QAM:
    """Square M-QAM mapper and hard-decision demapper with Gray labelling.

    >>> q = QAM(16)
    >>> bits = torch.randint(0, 2, (2, 40), dtype=torch.uint8)
    >>> bool((q.demodulate(q.modulate(bits)) == bits).all())
    True
    """

    ORDERS = (4, 16, 64)

    def __init__(self, order: int = 16) -> None:
        if order not in self.ORDERS:
            raise ConfigError(f"QAM order must be one of {self.ORDERS}, got {order!r}")
        self.order = int(order)
        self.bits_per_symbol = int(math.log2(order))
        self.bits_per_axis = self.bits_per_symbol // 2
        self.levels = int(math.isqrt(order))
        self.scale = math.sqrt(2.0 * (order - 1) / 3.0)

    def __repr__(self) -> str:
        return f"QAM({self.order})"

    # --- mapping ---------------------------------------------------------------
    def _axis_levels(self, bits: Tensor) -> Tensor:
        """``[..., bits_per_axis]`` bits (MSB first) -> PAM amplitudes (unscaled)."""
        weights = 2 ** torch.arange(self.bits_per_axis - 1, -1, -1, device=bits.device)
        g = (bits.long() * weights).sum(-1)
        i = _gray_inverse(g, self.bits_per_axis)
        return (2 * i - (self.levels - 1)).to(torch.float32)

    def modulate(self, bits: Tensor) -> Tensor:
        """Bits ``[..., n]`` (0/1, any int or bool dtype; ``n`` a multiple of
        ``bits_per_symbol``) -> complex64 symbols ``[..., n / bits_per_symbol]``."""
        if bits.shape[-1] % self.bits_per_symbol:
            raise InputError(
                f"{self!r}: bit count {bits.shape[-1]} is not a multiple of {self.bits_per_symbol}; pad the bits"
            )
        if bits.numel() and (bits.min() < 0 or bits.max() > 1):
            raise InputError(f"{self!r}: bits must be 0 or 1")
        g = bits.reshape(*bits.shape[:-1], -1, 2, self.bits_per_axis)
        re = self._axis_levels(g[..., 0, :])
        im = self._axis_levels(g[..., 1, :])
        return torch.complex(re, im) / self.scale

    bits_to_symbols = modulate

    # --- demapping -------------------------------------------------------------
    def _axis_bits(self, x: Tensor) -> Tensor:
        i = torch.round((x * self.scale + (self.levels - 1)) / 2).clamp(0, self.levels - 1).long()
        g = _gray(i)
        shifts = torch.arange(self.bits_per_axis - 1, -1, -1, device=x.device)
        return ((g.unsqueeze(-1) >> shifts) & 1).to(torch.uint8)

    def demodulate(self, symbols: Tensor) -> Tensor:
        """Hard decision: complex symbols ``[..., s]`` -> uint8 bits ``[..., s * bits_per_symbol]``
        (nearest constellation point, per axis)."""
        if not torch.is_complex(symbols):
            raise InputError(f"{self!r}: demodulate needs complex symbols, got {symbols.dtype}")
        b = torch.stack([self._axis_bits(symbols.real), self._axis_bits(symbols.imag)], dim=-2)
        return b.reshape(*symbols.shape[:-1], -1)

    symbols_to_bits = demodulate

    def constellation(self) -> Tensor:
        """All ``M`` points, indexed by the integer value of their bit label (MSB first)."""
        idx = torch.arange(self.order)
        shifts = torch.arange(self.bits_per_symbol - 1, -1, -1)
        bits = ((idx.unsqueeze(-1) >> shifts) & 1).to(torch.uint8)
        return self.modulate(bits).reshape(-1)


def bytes_to_bits(data: bytes) -> Tensor:
    """Bytes -> uint8 bits ``[8 * len(data)]``, MSB first (for digital side information)."""
    t = torch.tensor(list(bytes(data)), dtype=torch.uint8)
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8)
    return ((t.unsqueeze(-1) >> shifts) & 1).reshape(-1)


def bits_to_bytes(bits: Tensor) -> bytes:
    """uint8 bits (MSB first, length a multiple of 8) -> bytes."""
    flat = bits.reshape(-1).to(torch.uint8)
    if flat.numel() % 8:
        raise InputError(f"bit count {flat.numel()} is not a multiple of 8")
    weights = 2 ** torch.arange(7, -1, -1, dtype=torch.int32)
    return bytes((flat.reshape(-1, 8).int() * weights).sum(-1).tolist())
