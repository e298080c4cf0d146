"""DeepJSCC / ADJSCC models with tiny random configs: shapes, power, ratio, conditioning, I/O."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from vlm_privsc.channel import AWGNChannel, RayleighChannel, average_power, bandwidth_ratio
from vlm_privsc.errors import ConfigError, InputError, MissingWeightsError, UnknownNameError
from vlm_privsc.jscc import (
    DeepJSCC,
    JSCCConfig,
    build_jscc,
    latent_channels_for_ratio,
    load_model,
    load_pretrained,
    save_model,
)

TINY = (4, 6, 6, 6)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny convolutions run faster (and steadier on a shared CPU) on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tiny(arch: str = "adjscc", latent: int = 16, text_dim: int = 0, seed: int = 0) -> DeepJSCC:
    torch.manual_seed(seed)
    return build_jscc(arch, latent_channels=latent, channels=TINY, text_dim=text_dim).eval()


def test_ratio_and_latent_channels() -> None:
    assert latent_channels_for_ratio("1/6") == 16
    assert latent_channels_for_ratio("1/12") == 8
    with pytest.raises(ConfigError, match="1/6"):
        latent_channels_for_ratio("1/7")
    m = _tiny(latent=8)
    assert m.ratio == Fraction(1, 12)
    x = torch.rand(2, 3, 32, 32)
    z = m.encode(x, 10.0)
    assert bandwidth_ratio(z.shape[1], 32, 32) == Fraction(1, 12)


@pytest.mark.parametrize("size", [(32, 32), (37, 50), (8, 4), (65, 33)])
def test_encode_decode_any_size(size: tuple[int, int]) -> None:
    m = _tiny()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        z = m.encode(x, 5.0)
        assert torch.is_complex(z) and z.shape == (2, m.channel_uses(*size))
        assert torch.allclose(average_power(z), torch.ones(2), atol=1e-4)
        y = m.decode(AWGNChannel()(z, 5.0, torch.Generator().manual_seed(0)), 5.0, size=size)
    assert y.shape == x.shape
    assert y.min() >= 0 and y.max() <= 1


def test_decode_infers_square_size_and_checks_symbol_count() -> None:
    m = _tiny()
    with torch.no_grad():
        z = m.encode(torch.rand(1, 3, 24, 24), 0.0)
        assert m.decode(z, 0.0).shape == (1, 3, 24, 24)
        with pytest.raises(InputError, match="symbols"):
            m.decode(z, 0.0, size=(32, 32))
    with pytest.raises(InputError):
        m.encode(torch.rand(1, 1, 8, 8), 0.0)
    with pytest.raises(InputError):
        m.decode(torch.rand(1, 10), 0.0)


def test_adaptive_model_uses_the_snr_and_classic_ignores_it() -> None:
    x = torch.rand(2, 3, 16, 16)
    ad, classic = _tiny("adjscc"), _tiny("deepjscc")
    with torch.no_grad():
        assert not torch.allclose(ad.encode(x, 0.0), ad.encode(x, 20.0))
        assert torch.equal(classic.encode(x, 0.0), classic.encode(x, 20.0))
        # one SNR per image is accepted
        z = ad.encode(x, torch.tensor([0.0, 20.0]))
        assert torch.allclose(z[1], ad.encode(x[1:], 20.0)[0], atol=1e-5)
    with pytest.raises(InputError):
        ad.encode(x, None)
    with pytest.raises(UnknownNameError):
        build_jscc("vit")


def _face_mask(h: int = 35, w: int = 42) -> torch.Tensor:
    m = torch.zeros(1, 1, h, w, dtype=torch.bool)
    m[..., 4:26, 8:33] = True
    return m


def test_mask_aware_encode_drops_private_blocks_and_keeps_unit_power() -> None:
    model, x, mask = _tiny(), torch.rand(1, 3, 35, 42, generator=torch.Generator().manual_seed(1)), _face_mask()
    keep = model.symbol_keep(mask)
    k = model.channel_uses(35, 42)
    assert keep.shape == (1, k) and 0 < int(keep.sum()) < k
    z = model.encode(x, 10.0, mask=mask)
    assert torch.all(z[~keep] == 0)
    assert abs(float(z[keep].abs().square().mean().detach()) - 1.0) < 1e-4  # unit power over what travels
    # what is dropped: at most the 4x4 blocks wholly inside the mask (rows 1-5 x columns 2-7
    # of the 9x11 latent), 16 reals = 8 symbols each; a symbol pairing a private real with a
    # public one still travels
    dropped = k - int(keep.sum())
    assert 0 < dropped <= 5 * 6 * 16 // 2
    # an empty mask is the plain code; an all-private one sends nothing and still decodes
    assert torch.allclose(model.encode(x, 10.0, mask=torch.zeros_like(mask)), model.encode(x, 10.0), atol=1e-6)
    full = torch.ones_like(mask)
    assert int(model.symbol_keep(full).sum()) == 0 and torch.all(model.encode(x, 10.0, mask=full) == 0)
    assert torch.isfinite(model.decode(model.encode(x, 10.0, mask=full), 10.0, size=(35, 42), mask=full)).all()


def test_mask_aware_decoder_ignores_what_was_not_sent() -> None:
    model, x, mask = _tiny(), torch.rand(1, 3, 35, 42, generator=torch.Generator().manual_seed(2)), _face_mask()
    z, keep = model.encode(x, 10.0, mask=mask), model.symbol_keep(mask)
    garbage = torch.where(keep, z, torch.randn_like(z) * 5)
    a = model.decode(z, 10.0, size=(35, 42), mask=mask)
    assert torch.equal(a, model.decode(garbage, 10.0, size=(35, 42), mask=mask))
    # without the mask the decoder would read the zeros as a code
    assert not torch.allclose(a, model.decode(z, 10.0, size=(35, 42)))
    # the public pixels of the masked image steer the attention, the private ones do not
    y = x.clone()
    y[mask.expand_as(y)] = 0.0
    assert torch.equal(model.encode(y, 10.0, mask=mask)[keep].abs() > 0, z[keep].abs() > 0)


def test_mask_aware_mask_is_checked() -> None:
    model = _tiny()
    with pytest.raises(InputError, match="mask"):
        model.encode(torch.rand(1, 3, 32, 32), 10.0, mask=torch.zeros(1, 1, 16, 16, dtype=torch.bool))
    with pytest.raises(InputError, match="mask"):
        model.symbol_keep(torch.zeros(1, 1, 32, 32))


def test_text_conditioned_decoder() -> None:
    m = _tiny(text_dim=8)
    x = torch.rand(1, 3, 16, 16)
    t = torch.randn(8)
    with torch.no_grad():
        z = m.encode(x, 10.0)
        base = m.decode(z, 10.0, (16, 16))
        assert torch.allclose(m.decode(z, 10.0, (16, 16), text_emb=t), base)  # FiLM is identity at init
        for blk in m.dec:
            torch.nn.init.normal_(blk.film.proj.weight, std=0.5)
        assert not torch.allclose(m.decode(z, 10.0, (16, 16), text_emb=t), base, atol=1e-4)
        with pytest.raises(InputError, match="text_emb"):
            m.decode(z, 10.0, (16, 16), text_emb=torch.randn(5))
        with pytest.raises(InputError, match="no text conditioning"):
            _tiny().decode(z, 10.0, (16, 16), text_emb=t)


def test_with_text_conditioning_copies_the_model() -> None:
    from vlm_privsc.jscc import with_text_conditioning

    m = _tiny()
    t = with_text_conditioning(m, 6)
    assert t.text_dim == 6 and m.text_dim == 0
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        z = m.encode(x, 7.0)
        assert torch.equal(t.encode(x, 7.0), z)
        assert torch.allclose(t.decode(z, 7.0, (16, 16), torch.randn(6)), m.decode(z, 7.0, (16, 16)))
    with pytest.raises(ConfigError):
        with_text_conditioning(m, 0)


def test_end_to_end_training_reduces_the_loss() -> None:
    torch.manual_seed(0)
    m = build_jscc("adjscc", latent_channels=16, channels=(8, 8, 8, 8)).train()
    x = torch.nn.functional.interpolate(torch.rand(8, 3, 4, 4), size=(16, 16), mode="bilinear")  # smooth
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(100):
        y = m(x, RayleighChannel("block", "mmse"), torch.full((8,), 20.0), gen)
        loss = torch.nn.functional.mse_loss(y, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < 0.5 * losses[0]


def test_save_load_roundtrip(tmp_path: Path) -> None:
    m = _tiny(latent=8, text_dim=4)
    p = save_model(m, tmp_path / "jscc_tiny.safetensors", {"note": "test"})
    meta = json.loads(p.with_suffix(".json").read_text())
    assert meta["note"] == "test" and meta["ratio"] == "1/12" and meta["config"]["text_dim"] == 4
    m2 = load_model(p)
    assert m2.config == m.config
    x = torch.rand(1, 3, 12, 20)
    with torch.no_grad():
        a = m.decode(m.encode(x, 3.0), 3.0, (12, 20), torch.ones(4))
        b = m2.decode(m2.encode(x, 3.0), 3.0, (12, 20), torch.ones(4))
    assert torch.equal(a, b)
    with pytest.raises(MissingWeightsError):
        load_model(tmp_path / "nope.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InputError):
        load_model(tmp_path / "bad.safetensors")


def test_missing_pretrained_names_the_file_and_the_command() -> None:
    with pytest.raises(MissingWeightsError, match=r"jscc_no-such-model\.safetensors.*vlmsc train jscc"):
        load_pretrained("no-such-model")


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        JSCCConfig(latent_channels=7)
    with pytest.raises(ConfigError):
        JSCCConfig(arch="swin")
    with pytest.raises(ConfigError):
        JSCCConfig.from_dict({"arch": "adjscc", "depth": 3})
