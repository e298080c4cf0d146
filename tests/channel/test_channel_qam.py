"""Gray-coded QAM: round trips, unit power, Gray labelling and BER against theory."""

from __future__ import annotations

import math

import pytest
import torch

from vlm_privsc.channel import QAM, AWGNChannel, bits_to_bytes, bytes_to_bits, separation_bit_budget
from vlm_privsc.channel.capacity import awgn_capacity_bits
from vlm_privsc.errors import ConfigError, InputError


def _q(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


@pytest.mark.parametrize("order", [4, 16, 64])
def test_roundtrip_power_and_gray(order: int) -> None:
    q = QAM(order)
    assert q.bits_per_symbol == int(math.log2(order))
    bits = torch.randint(0, 2, (3, 60 * q.bits_per_symbol), generator=torch.Generator().manual_seed(0))
    s = q.modulate(bits)
    assert s.shape == (3, 60) and s.dtype == torch.complex64
    assert torch.equal(q.demodulate(s), bits.to(torch.uint8))
    pts = q.constellation()
    assert pts.numel() == order and len({(round(p.real, 4), round(p.imag, 4)) for p in pts.tolist()}) == order
    assert pts.abs().square().mean().item() == pytest.approx(1.0, abs=1e-5)
    # Gray: nearest neighbours differ in exactly one bit
    d = (pts[:, None] - pts[None, :]).abs()
    dmin = d[d > 1e-6].min()
    for i in range(order):
        for j in range(order):
            if i != j and abs(d[i, j] - dmin) < 1e-4:
                assert bin(i ^ j).count("1") == 1


def test_qpsk_ber_matches_theory() -> None:
    q = QAM(4)
    snr_db = 6.0
    bits = torch.randint(0, 2, (1, 400_000), generator=torch.Generator().manual_seed(1))
    y = AWGNChannel()(q.modulate(bits), snr_db, torch.Generator().manual_seed(2))
    ber = (q.demodulate(y) != bits).float().mean().item()
    assert ber == pytest.approx(_q(math.sqrt(10 ** (snr_db / 10))), rel=0.05)


def test_16qam_ber_matches_gray_approximation() -> None:
    q = QAM(16)
    snr_db = 12.0
    bits = torch.randint(0, 2, (1, 400_000), generator=torch.Generator().manual_seed(3))
    y = AWGNChannel()(q.modulate(bits), snr_db, torch.Generator().manual_seed(4))
    ber = (q.demodulate(y) != bits).float().mean().item()
    assert ber == pytest.approx(0.75 * _q(math.sqrt(10 ** (snr_db / 10) / 5)), rel=0.1)


def test_qam_errors_and_bytes() -> None:
    with pytest.raises(ConfigError):
        QAM(8)
    with pytest.raises(InputError):
        QAM(16).modulate(torch.ones(1, 6, dtype=torch.uint8))
    with pytest.raises(InputError):
        QAM(4).demodulate(torch.ones(1, 4))
    assert bits_to_bytes(bytes_to_bits(b"vlmsc")) == b"vlmsc"
    assert bytes_to_bits(b"\x80").tolist() == [1, 0, 0, 0, 0, 0, 0, 0]


def test_capacity_budget() -> None:
    assert awgn_capacity_bits(0.0) == pytest.approx(1.0)
    assert separation_bit_budget(512, 10.0) == math.floor(512 * math.log2(11))
