"""Shannon limits used by the separation reference.

An ideal capacity-achieving channel code carries ``log2(1 + SNR)`` bits per complex
channel use over AWGN, so ``k`` channel uses carry at most ``k * log2(1 + SNR)`` bits:
the bit budget of the digital (separate source/channel coding) reference.
"""

from __future__ import annotations

import math


def awgn_capacity_bits(snr_db: float) -> float:
    """Capacity of the complex AWGN channel in bits per complex channel use."""
    return math.log2(1.0 + 10.0 ** (snr_db / 10.0))


def separation_bit_budget(channel_uses: int, snr_db: float) -> int:
    """Bits that ``channel_uses`` complex channel uses carry at capacity (floored)."""
    return int(math.floor(channel_uses * awgn_capacity_bits(snr_db)))
