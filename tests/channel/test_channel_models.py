"""Golden statistics of the channel models: empirical SNR, fading statistics, power."""

from __future__ import annotations

import math

import pytest
import torch

from vlm_privsc.channel import (
    CHANNELS,
    AWGNChannel,
    RayleighChannel,
    average_power,
    bandwidth_ratio,
    build_channel,
    parse_ratio,
    power_normalize,
    snr_to_noise_var,
)
from vlm_privsc.errors import ConfigError, InputError, UnknownNameError


def _symbols(b: int, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, n, dtype=torch.complex64, generator=g) * 3.0 + 0.5
    return power_normalize(z)


def test_power_normalize_meets_the_constraint_per_row() -> None:
    g = torch.Generator().manual_seed(1)
    z = torch.randn(5, 1000, dtype=torch.complex64, generator=g) * torch.tensor([[0.01], [1], [7], [100], [3]])
    p = average_power(power_normalize(z))
    assert torch.allclose(p, torch.ones(5), atol=1e-4)
    p2 = average_power(power_normalize(z, power=2.0))
    assert torch.allclose(p2, torch.full((5,), 2.0), atol=1e-4)


def test_power_normalize_over_the_active_symbols_only() -> None:
    z = torch.randn(2, 100, dtype=torch.complex64, generator=torch.Generator().manual_seed(2)) * 5
    active = torch.zeros(2, 100, dtype=torch.bool)
    active[0, :30], active[1, 50:] = True, True
    out = power_normalize(z, active=active)
    assert torch.all(out[~active] == 0)
    for i in range(2):  # unit power over what is sent, and the sent symbols keep their direction
        assert abs(float(out[i][active[i]].abs().square().mean()) - 1.0) < 1e-4
    assert torch.allclose(out[0, :30] / out[0, 0], z[0, :30] / z[0, 0], atol=1e-5)
    assert torch.allclose(power_normalize(z, active=torch.ones_like(active)), power_normalize(z))


def test_power_normalize_is_differentiable() -> None:
    x = torch.randn(2, 64, requires_grad=True)
    z = torch.view_as_complex(x.reshape(2, 32, 2))
    power_normalize(z).real.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_awgn_empirical_snr(snr_db: float) -> None:
    z = _symbols(4, 100_000)
    y = AWGNChannel()(z, snr_db, torch.Generator().manual_seed(2))
    n = y - z
    var = (n.real.square() + n.imag.square()).mean().item()
    assert var == pytest.approx(10 ** (-snr_db / 10), rel=0.02)
    measured_snr = 10 * math.log10(average_power(z).mean().item() / var)
    assert measured_snr == pytest.approx(snr_db, abs=0.1)
    # circular: I and Q carry half the noise each, zero mean, uncorrelated with the signal
    assert n.real.var().item() == pytest.approx(var / 2, rel=0.03)
    assert n.imag.var().item() == pytest.approx(var / 2, rel=0.03)
    assert abs(n.mean().item()) < 0.01 * math.sqrt(var) * 10
    corr = (n * z.conj()).mean().abs().item() / math.sqrt(var)
    assert corr < 0.01


def test_awgn_per_image_snr_tensor() -> None:
    z = _symbols(3, 50_000)
    snr = torch.tensor([0.0, 10.0, 20.0])
    y = AWGNChannel()(z, snr, torch.Generator().manual_seed(3))
    var = (y - z).abs().square().mean(dim=1)
    assert torch.allclose(var, snr_to_noise_var(snr).reshape(-1), rtol=0.03)


def test_seeded_generators_are_reproducible() -> None:
    z = _symbols(2, 256)
    for ch in (AWGNChannel(), RayleighChannel("block"), RayleighChannel("fast", "mmse")):
        a = ch(z, 5.0, torch.Generator().manual_seed(7))
        b = ch(z, 5.0, torch.Generator().manual_seed(7))
        c = ch(z, 5.0, torch.Generator().manual_seed(8))
        assert torch.equal(a, b)
        assert not torch.equal(a, c)


def test_rayleigh_block_statistics_and_constancy() -> None:
    b, n = 20_000, 8
    z = _symbols(b, n)
    ch = RayleighChannel("block", equalizer="none")
    y = ch(z, 200.0, torch.Generator().manual_seed(4))  # practically noiseless
    h = ch.last_h
    assert h is not None and h.shape == (b, 1)
    ratio = y / z  # = h on every symbol of a row
    assert torch.allclose(ratio, h.expand(b, n), atol=1e-3)
    g = h.abs().square().reshape(-1)
    assert g.mean().item() == pytest.approx(1.0, abs=0.03)  # E|h|^2 = 1
    # |h|^2 ~ Exp(1): P(|h|^2 < t) = 1 - exp(-t)
    for t in (0.1, 0.5, 1.0, 2.0):
        assert (g < t).float().mean().item() == pytest.approx(1 - math.exp(-t), abs=0.015)
    assert abs(h.mean().item()) < 0.03  # uniform phase, zero mean


def test_rayleigh_fast_draws_one_coefficient_per_symbol() -> None:
    z = _symbols(4, 50_000)
    ch = RayleighChannel("fast", equalizer="none")
    y = ch(z, 200.0, torch.Generator().manual_seed(5))
    h = ch.last_h
    assert h is not None and h.shape == z.shape
    assert torch.allclose(y, h * z, atol=1e-4)
    g = h.abs().square().reshape(-1)
    assert g.mean().item() == pytest.approx(1.0, abs=0.02)
    assert (g < 1.0).float().mean().item() == pytest.approx(1 - math.exp(-1), abs=0.01)
    # independent across symbols
    assert abs((h[:, 1:] * h[:, :-1].conj()).mean().item()) < 0.02


def test_zero_forcing_noise_scales_with_the_fade() -> None:
    b, n, snr_db = 2_000, 512, 10.0
    z = _symbols(b, n)
    ch = RayleighChannel("block", equalizer="zf")
    y = ch(z, snr_db, torch.Generator().manual_seed(6))
    g = ch.last_h.abs().square().reshape(-1)
    row_var = (y - z).abs().square().mean(dim=1)
    # ZF: y = z + n/h, so |h|^2 * E|y - z|^2 = sigma^2 for every image
    assert (row_var * g).mean().item() == pytest.approx(10 ** (-snr_db / 10), rel=0.03)
    assert torch.allclose(RayleighChannel("block", "zf")(z, 300.0, torch.Generator().manual_seed(0)), z, atol=1e-4)


def test_mmse_matches_its_formula_and_beats_zf() -> None:
    z = _symbols(500, 256)
    snr_db = 5.0
    mmse, zf, raw = RayleighChannel("fast", "mmse"), RayleighChannel("fast", "zf"), RayleighChannel("fast", "none")
    y_m = mmse(z, snr_db, torch.Generator().manual_seed(9))
    y_z = zf(z, snr_db, torch.Generator().manual_seed(9))
    r = raw(z, snr_db, torch.Generator().manual_seed(9))  # same draws: h first, then noise
    h = raw.last_h
    var = 10 ** (-snr_db / 10)
    assert torch.allclose(y_m, h.conj() * r / (h.abs().square() + var), atol=1e-5)
    assert torch.allclose(y_z * h, r, atol=1e-4)
    assert (y_m - z).abs().square().mean() < (y_z - z).abs().square().mean()


def test_registry_and_errors() -> None:
    assert {"awgn", "rayleigh", "rayleigh_block", "rayleigh_fast"} <= set(CHANNELS.names())
    assert isinstance(build_channel("awgn"), AWGNChannel)
    ch = build_channel("rayleigh", mode="fast", equalizer="mmse")
    assert isinstance(ch, RayleighChannel) and ch.mode == "fast" and ch.equalizer == "mmse"
    assert build_channel("rayleigh_block").mode == "block"
    with pytest.raises(UnknownNameError, match="awgn"):
        build_channel("rician")
    with pytest.raises(ConfigError):
        build_channel("rayleigh", mode="slow")
    with pytest.raises(ConfigError):
        build_channel("awgn", k=3)
    with pytest.raises(InputError):
        AWGNChannel()(torch.randn(2, 8), 10.0)
    with pytest.raises(InputError):
        AWGNChannel()(_symbols(2, 8), torch.tensor([1.0, 2.0, 3.0]))


def test_bandwidth_ratio() -> None:
    assert bandwidth_ratio(512, 32, 32) == parse_ratio("1/6")
    assert float(bandwidth_ratio(256, 32, 32)) == pytest.approx(1 / 12)
    assert parse_ratio("0.5") == parse_ratio("1/2")
    with pytest.raises(InputError):
        parse_ratio("two")
    with pytest.raises(InputError):
        bandwidth_ratio(0, 32, 32)
