"""Channel models between the JSCC encoder and decoder (complex baseband).

- :class:`AWGNChannel`, :class:`RayleighChannel` (block/fast fading, ZF/MMSE/no
  equalisation), built by name through :data:`CHANNELS` / :func:`build_channel`;
- :func:`power_normalize` (average power 1 per complex symbol), :func:`bandwidth_ratio`;
- :class:`QAM`: Gray-coded 4/16/64-QAM mapper and hard-decision demapper.

Every random draw takes a seeded :class:`torch.Generator`.
"""

from vlm_privsc.channel.base import (
    Channel,
    average_power,
    bandwidth_ratio,
    complex_normal,
    parse_ratio,
    power_normalize,
    snr_to_noise_var,
)
from vlm_privsc.channel.capacity import awgn_capacity_bits, separation_bit_budget
from vlm_privsc.channel.models import CHANNELS, AWGNChannel, IdentityChannel, RayleighChannel, build_channel
from vlm_privsc.channel.qam import QAM, bits_to_bytes, bytes_to_bits

__all__ = [
    "CHANNELS",
    "QAM",
    "AWGNChannel",
    "Channel",
    "IdentityChannel",
    "RayleighChannel",
    "average_power",
    "awgn_capacity_bits",
    "bandwidth_ratio",
    "bits_to_bytes",
    "build_channel",
    "bytes_to_bits",
    "complex_normal",
    "parse_ratio",
    "power_normalize",
    "separation_bit_budget",
    "snr_to_noise_var",
]
