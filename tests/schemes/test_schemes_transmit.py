"""Transmit-time schemes: registry, DP (Laplace), keyed shuffling, LBVQ, perturbation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vlm_privsc.channel import QAM, AWGNChannel, IdentityChannel, power_normalize
from vlm_privsc.errors import ConfigError, InputError, UnknownNameError
from vlm_privsc.schemes import (
    LBVQ,
    SCHEMES,
    TRAIN_SCHEMES,
    TRANSMIT_SCHEMES,
    CooperativePerturbation,
    KeyedShuffle,
    LaplaceDP,
    build_scheme,
    keyed_permutation,
    laplace_noise,
)


def symbols(b: int = 4, k: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return power_normalize(torch.randn(b, k, generator=g, dtype=torch.complex64))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- registry ----------------------------------------------------------------------------
def test_registry_lists_every_scheme_with_its_stage():
    assert set(SCHEMES.names()) == {"none", "dp", "shuffle", "perturbation", "lbvq", "ibal", "minmax"}
    for name in TRANSMIT_SCHEMES:
        assert build_scheme(name).stage == "transmit"
    for name in TRAIN_SCHEMES:
        assert build_scheme(name).stage == "train"


def test_unknown_scheme_and_bad_parameters_are_config_errors():
    with pytest.raises(UnknownNameError, match="valid: dp"):
        build_scheme("aes")
    with pytest.raises(ConfigError, match="privacy scheme 'dp': eps: unknown parameter"):
        build_scheme("dp", eps=0.1)
    with pytest.raises(ConfigError, match="epsilon"):
        build_scheme("dp", epsilon=0)


def test_schemes_reject_real_tensors():
    with pytest.raises(InputError, match="complex symbols"):
        build_scheme("dp").apply(torch.randn(2, 8))


@pytest.mark.parametrize("name", ["ibal", "minmax", "none"])
def test_train_time_schemes_are_identity_at_transmit_time(name):
    z = symbols()
    s = build_scheme(name)
    assert torch.equal(s.apply(z, gen()), z)
    assert torch.equal(s.invert(z, gen()), z)


# --- DP ------------------------------------------------------------------------------------
def test_laplace_noise_has_the_laplace_variance_and_is_seeded():
    b = 0.7
    n = laplace_noise((200_000,), b, gen(1))
    assert abs(float(n.mean())) < 0.01
    assert float(n.var()) == pytest.approx(2 * b * b, rel=0.03)
    assert float(n.abs().mean()) == pytest.approx(b, rel=0.02)  # E|X| = b for Laplace
    assert torch.equal(n, laplace_noise((200_000,), b, gen(1)))


def test_dp_scale_is_sensitivity_over_epsilon_with_sensitivity_from_clipping():
    s = LaplaceDP(epsilon=0.1, clip=0.5)
    assert s.sensitivity == 1.0 and s.scale == pytest.approx(10.0)
    assert LaplaceDP(epsilon=0.9, clip=1.0, sensitivity=0.3).scale == pytest.approx(0.3 / 0.9)


def test_dp_noise_level_matches_the_budget():
    z = symbols(8, 4096)
    for eps in (0.05, 0.1, 0.9):
        s = LaplaceDP(epsilon=eps, clip=1.0, renormalize=False)
        out = s.apply(z, gen(2))
        clipped = torch.view_as_real(z).clamp(-1, 1)
        noise = torch.view_as_real(out) - clipped
        assert float(noise.var()) == pytest.approx(2 * s.scale**2, rel=0.05)


def test_dp_clips_before_the_noise_and_renormalises_the_power():
    z = symbols() * 3.0  # coordinates well beyond the clip bound
    tiny_noise = LaplaceDP(epsilon=1e6, clip=0.5, renormalize=False).apply(z, gen())
    assert float(torch.view_as_real(tiny_noise).abs().max()) <= 0.5 + 1e-4
    out = LaplaceDP(epsilon=0.1).apply(z, gen())
    assert torch.allclose((out.abs() ** 2).mean(1), torch.ones(z.shape[0]), atol=1e-4)
    assert torch.equal(LaplaceDP(epsilon=0.1).apply(z, gen(5)), LaplaceDP(epsilon=0.1).apply(z, gen(5)))


def test_smaller_budget_means_more_distortion():
    z = symbols(16, 256)
    err = [float((LaplaceDP(epsilon=e).apply(z, gen(3)) - z).abs().square().mean()) for e in (0.9, 0.1, 0.05)]
    assert err[0] < err[1] < err[2]


# --- keyed shuffling -------------------------------------------------------------------------
@pytest.mark.parametrize("domain", ["reals", "symbols"])
@pytest.mark.parametrize("per_message", [True, False])
def test_shuffle_is_inverted_exactly_by_the_key_holder(domain, per_message):
    z = symbols()
    s = KeyedShuffle(key="secret", per_message=per_message, domain=domain)
    sent = s.apply(z, gen(7))
    assert not torch.equal(sent, z)
    assert torch.allclose((sent.abs() ** 2).sum(1), (z.abs() ** 2).sum(1))  # power preserved
    assert torch.equal(s.invert(sent, gen(7)), z)


def test_shuffle_without_the_key_does_not_recover_the_symbols():
    z = symbols(2, 64)
    sent = KeyedShuffle(key="secret").apply(z, gen(7))
    wrong = KeyedShuffle(key="guess").invert(sent, gen(7))
    assert float((wrong - z).abs().mean()) > 0.5
    s = KeyedShuffle(key="secret")
    assert torch.equal(s.eavesdrop(sent), sent)  # Eve sees only the permuted symbols


def test_per_message_permutations_differ_between_images_and_fixed_key_ones_do_not():
    z = symbols(1, 64).expand(3, 64).contiguous()
    per = KeyedShuffle(key=3, per_message=True).apply(z, gen())
    assert not torch.equal(per[0], per[1])
    fixed = KeyedShuffle(key=3, per_message=False).apply(z, gen())
    assert torch.equal(fixed[0], fixed[1]) and torch.equal(fixed[1], fixed[2])


def test_keyed_permutation_is_deterministic_and_key_dependent():
    p = keyed_permutation("k", 100, 5)
    assert torch.equal(p, keyed_permutation("k", 100, 5))
    assert sorted(p.tolist()) == list(range(100))
    assert not torch.equal(p, keyed_permutation("k2", 100, 5))
    assert not torch.equal(p, keyed_permutation("k", 100, 6))
    assert "key" not in KeyedShuffle(key="top secret").describe()


def test_shuffle_roundtrip_through_awgn_equals_plain_awgn_in_distribution():
    z = symbols(64, 128)
    s = KeyedShuffle(key=1)
    y = s.roundtrip(z, AWGNChannel(), 10.0, gen(4))
    mse = float((y - z).abs().square().mean())
    assert mse == pytest.approx(0.1, rel=0.1)  # noise variance at 10 dB, unchanged by the permutation


# --- LBVQ ------------------------------------------------------------------------------------
def test_lbvq_sends_one_16qam_symbol_per_codebook_index():
    s = LBVQ(num_codewords=16, dim=2)
    assert s.codebook.shape == (16, 2)
    z = symbols(3, 40)
    sent = s.apply(z)
    assert sent.shape == (3, 40)
    points = QAM(16).constellation()
    assert bool(torch.isclose(sent.unsqueeze(-1), points).any(-1).all())
    assert s.bits_per_image(40) == 160
    with pytest.raises(ConfigError, match="QAM order"):
        LBVQ(num_codewords=10)


def test_lbvq_noiseless_link_returns_the_nearest_codewords():
    s = LBVQ(16, 2)
    z = symbols(2, 16)
    idx = s.quantize(z)
    out = s.invert(IdentityChannel()(s.apply(z)))
    assert torch.equal(out, s.dequantize(idx))
    v = s.vectors(z)
    d = (v.unsqueeze(-2) - s.codebook).square().sum(-1)
    assert torch.equal(idx, d.argmin(-1))


def test_lbvq_symbol_errors_are_real_and_depend_on_snr():
    s = LBVQ(16, 2)
    z = symbols(16, 256)
    idx = s.quantize(z)
    sent = s.apply(z)
    hi = s.demodulate(AWGNChannel()(sent, 40.0, gen(1)))
    lo = s.demodulate(AWGNChannel()(sent, 5.0, gen(1)))
    assert torch.equal(hi, idx)
    ser = float((lo != idx).float().mean())
    assert 0.1 < ser < 0.9  # 16-QAM at 5 dB: many symbol errors


def test_lbvq_straight_through_gradient_and_vq_losses():
    s = LBVQ(16, 2, commitment=0.25)
    z = symbols(4, 16).requires_grad_(True)
    out = s.roundtrip(z, AWGNChannel(), 20.0, gen())
    out.real.sum().backward(retain_graph=True)
    assert z.grad is not None and float(z.grad.abs().sum()) > 0  # gradient passes straight through
    v = s.vectors(z.detach())
    e = s.codebook[s.quantize(z.detach())]
    want = (F.mse_loss(e, v) + 0.25 * F.mse_loss(v, e)).detach()
    s.quantize(z)
    aux = s.aux_loss()
    assert aux.detach().item() == pytest.approx(want.item(), rel=1e-5)
    aux.backward()
    assert s.codebook.grad is not None and float(s.codebook.grad.abs().sum()) > 0


# --- perturbation ----------------------------------------------------------------------------
def _linear(k: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    lin = nn.Linear(2 * k, 10)

    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = lin

        def forward(self, y):
            return self.lin(torch.view_as_real(y).reshape(y.shape[0], -1))

    return M()


def test_perturbation_respects_the_power_budget():
    z = symbols(8, 32)
    p = CooperativePerturbation(surrogate=_linear(32, 0), psr_db=-10.0, steps=5)
    d = p.perturbation(z, gen())
    ratio = (d.abs() ** 2).sum(1) / (z.abs() ** 2).sum(1)
    assert bool((ratio <= 0.1 + 1e-5).all())
    out = p.apply(z, gen())
    assert torch.allclose((out.abs() ** 2).mean(1), torch.ones(8), atol=1e-4)


def test_perturbation_raises_the_surrogate_loss_and_keeps_the_legit_decision():
    z = symbols(64, 32)
    sur, leg = _linear(32, 1), _linear(32, 2)
    p = CooperativePerturbation(surrogate=sur, legit=leg, psr_db=-6.0, steps=10, legit_weight=1.0, renormalize=False)
    with torch.no_grad():
        s0, l0 = sur(z).argmax(-1), leg(z).argmax(-1)
        zp = p.apply(z, gen())
        ce_clean = float(F.cross_entropy(sur(z), s0))
        ce_pert = float(F.cross_entropy(sur(zp), s0))
        flips_sur = float((sur(zp).argmax(-1) != s0).float().mean())
        flips_leg = float((leg(zp).argmax(-1) != l0).float().mean())
        rnd = CooperativePerturbation(psr_db=-6.0, mode="random", renormalize=False).apply(z, gen())
        flips_rnd = float((sur(rnd).argmax(-1) != s0).float().mean())
    assert ce_pert > ce_clean + 0.5
    assert flips_sur > flips_rnd + 0.2  # crafted beats random noise of the same power
    assert flips_leg < flips_sur


def test_perturbation_needs_a_surrogate_unless_random():
    with pytest.raises(ConfigError, match="surrogate"):
        CooperativePerturbation().apply(symbols(), gen())
    out = CooperativePerturbation(mode="random").apply(symbols(), gen(1))
    assert torch.equal(out, CooperativePerturbation(mode="random").apply(symbols(), gen(1)))
    assert math.isclose(CooperativePerturbation(psr_db=-10).psr, 0.1)


# --- with the project's image DeepJSCC (how the pipeline will call them) -----------------------
@pytest.mark.parametrize(
    "name,params",
    [
        ("none", {}),
        ("dp", {"epsilon": 0.9}),
        ("shuffle", {"key": "k"}),
        ("lbvq", {}),
        ("perturbation", {"mode": "random"}),
    ],
)
def test_transmit_schemes_fit_between_deepjscc_encoder_and_channel(name, params):
    from vlm_privsc.jscc import build_jscc

    torch.manual_seed(0)
    jscc = build_jscc("deepjscc", latent_channels=8).eval()
    x = torch.rand(2, 3, 20, 28)  # not square, not a multiple of 4: the codec pads
    scheme = build_scheme(name, **params)
    with torch.no_grad():
        z = jscc.encode(x)
        sent = scheme.apply(z, gen(11))
        power = (sent.abs() ** 2).mean(1)
        if name == "lbvq":  # QAM points: unit power on average over the constellation, <= 1.8 for 16-QAM
            assert bool((power <= 1.8 + 1e-4).all())
        else:
            assert torch.allclose(power, torch.ones(2), atol=1e-3)  # power constraint kept per image
        bob_in = scheme.invert(AWGNChannel()(sent, 30.0, gen(1)), gen(11))
        eve_in = scheme.eavesdrop(AWGNChannel()(sent, 30.0, gen(2)))
        assert bob_in.shape == z.shape and eve_in.shape == z.shape
        out = jscc.decode(bob_in, size=(20, 28))
    assert out.shape == x.shape
    if name in ("none", "shuffle"):
        assert float((bob_in - z).abs().square().mean()) < 0.01  # Bob undoes the scheme: only the 30 dB noise


def test_shuffle_has_no_default_key_and_binds_the_shared_key():
    from vlm_privsc.errors import ConfigError
    from vlm_privsc.keys import SharedKey

    z = symbols(2, 64)
    with pytest.raises(ConfigError, match="no key"):
        KeyedShuffle().apply(z, gen(1))
    k = SharedKey.generate()
    bound = KeyedShuffle().with_key(k)
    sent = bound.apply(z, gen(1))
    assert torch.equal(KeyedShuffle(key=k).invert(sent, gen(1)), z)
    assert not torch.equal(KeyedShuffle().with_key(SharedKey.generate()).invert(sent, gen(1)), z)
