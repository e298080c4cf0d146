"""The residual GDN codec (arch ``resjscc``) with tiny widths: shapes, ratio, mask-aware
code, text conditioning, weights I/O, old weights, and the ``--hours`` training budget."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_privsc.channel import average_power
from vlm_privsc.errors import ConfigError
from vlm_privsc.jscc import (
    JSCCConfig,
    build_jscc,
    latent_channels_for_ratio,
    load_model,
    load_pretrained,
    save_model,
    with_text_conditioning,
)
from vlm_privsc.jscc import data as jdata
from vlm_privsc.jscc.models import default_config
from vlm_privsc.jscc.train import TrainOptions, train, warmup_cosine

TINY = (4, 6, 8, 8)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tiny(latent: int = 256, text_dim: int = 0, seed: int = 0):
    torch.manual_seed(seed)
    return build_jscc("resjscc", latent_channels=latent, channels=TINY, res_blocks=(1, 1), text_dim=text_dim).eval()


def test_ratio_stride_and_shapes() -> None:
    assert latent_channels_for_ratio("1/6", 16) == 256 and latent_channels_for_ratio("1/12", 16) == 128
    with pytest.raises(ConfigError):
        latent_channels_for_ratio("1/7", 16)
    for latent, ratio in ((256, Fraction(1, 6)), (128, Fraction(1, 12))):
        m = _tiny(latent)
        assert m.stride == 16 and m.ratio == ratio
        x = torch.rand(2, 3, 40, 52)  # padded to 48x64 inside
        with torch.no_grad():
            z = m.encode(x, 7.0)
            assert torch.is_complex(z) and z.shape == (2, latent * 3 * 4 // 2) == (2, m.channel_uses(40, 52))
            assert torch.allclose(average_power(z), torch.ones(2), atol=1e-4)
            y = m.decode(z, 7.0, size=(40, 52))
        assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    # the square size is inferred from the symbol count, as for adjscc
    m = _tiny(128)
    with torch.no_grad():
        assert m.decode(m.encode(torch.rand(1, 3, 32, 32), 3.0), 3.0).shape == (1, 3, 32, 32)


def test_snr_changes_the_code() -> None:
    m = _tiny()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(m.encode(x, 0.0), m.encode(x, 20.0))


def test_mask_aware_code_on_resjscc() -> None:
    m = _tiny(128)
    x = torch.rand(2, 3, 48, 64)
    empty = torch.zeros(2, 1, 48, 64, dtype=torch.bool)
    with torch.no_grad():
        z = m.encode(x, 10.0)
        assert torch.equal(m.encode(x, 10.0, mask=empty), z)  # an empty mask is the plain code
        assert torch.equal(m.decode(z, 10.0, size=(48, 64), mask=empty), m.decode(z, 10.0, size=(48, 64)))
        mask = empty.clone()
        mask[:, :, :32, :32] = True  # four latent cells (16x16 px) wholly private
        keep = m.symbol_keep(mask)
        assert keep.shape == z.shape and keep.sum(1).tolist() == [z.shape[1] * 8 // 12] * 2
        zm = m.encode(x, 10.0, mask=mask)
        assert torch.all(zm[~keep] == 0) and torch.allclose(
            average_power(zm[keep].reshape(2, -1)), torch.ones(2), atol=1e-4
        )
        # what was not sent never matters to the decoder
        junk = zm.clone()
        junk[~keep] = 5 + 5j
        a = m.decode(zm, 10.0, size=(48, 64), mask=mask)
        assert torch.equal(a, m.decode(junk, 10.0, size=(48, 64), mask=mask))


def test_text_conditioning_on_resjscc() -> None:
    base = _tiny(128)
    m = with_text_conditioning(base, 8)
    assert m.config.arch == "resjscc" and m.text_dim == 8
    x = torch.rand(1, 3, 32, 32)
    t = torch.randn(8)
    with torch.no_grad():
        z = base.encode(x, 5.0)
        assert torch.equal(m.encode(x, 5.0), z)
        ref = base.decode(z, 5.0)
        assert torch.allclose(m.decode(z, 5.0, text_emb=t), ref, atol=1e-6)  # FiLM starts as the identity
        for mod in m.modules():
            if mod.__class__.__name__ == "FiLM":
                mod.proj.weight.normal_(0, 0.3)
        assert not torch.allclose(m.decode(z, 5.0, text_emb=t), ref, atol=1e-3)
        assert torch.allclose(m.decode(z, 5.0), ref, atol=1e-6)  # no text: FiLM off


def test_weights_roundtrip_fp32_and_fp16(tmp_path: Path) -> None:
    m = _tiny(128, text_dim=4)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        z = m.encode(x, 10.0)
        ref = m.decode(z, 10.0)
    for dtype, tol in ((torch.float32, 0.0), (torch.float16, 2e-3)):
        p = save_model(m, tmp_path / f"jscc_r_{dtype}.safetensors", {"note": "t"}, dtype=dtype)
        back = load_model(p)
        assert back.config == m.config and back.config.res_blocks == (1, 1)
        assert all(v.dtype == torch.float32 for v in back.state_dict().values())
        with torch.no_grad():
            assert (back.decode(back.encode(x, 10.0), 10.0) - ref).abs().max() <= tol
        meta = json.loads(p.with_suffix(".json").read_text())
        assert meta["config"]["arch"] == "resjscc" and meta["ratio"] == "1/12" and meta["note"] == "t"
    assert (tmp_path / "jscc_r_torch.float16.safetensors").stat().st_size < 0.6 * (
        tmp_path / "jscc_r_torch.float32.safetensors"
    ).stat().st_size


def test_config_fields_stay_backward_compatible() -> None:
    old = {
        "arch": "adjscc",
        "latent_channels": 16,
        "channels": [16, 32, 32, 32],
        "kernel_size": 5,
        "text_dim": 0,
        "snr_scale_db": 20.0,
    }
    cfg = JSCCConfig.from_dict(old)
    assert cfg.to_dict() == old  # the weights format of adjscc is unchanged
    assert load_pretrained("adjscc-r1_12").config.to_dict() == {**old, "latent_channels": 8}
    with pytest.raises(ConfigError):
        JSCCConfig(arch="adjscc", res_blocks=(1, 1))
    with pytest.raises(ConfigError):
        JSCCConfig(arch="resjscc", latent_channels=256, res_blocks=(1,))
    assert default_config("resjscc", 256).res_blocks == (1, 1)


def test_crop_sampler_sizes_and_pixel_budget() -> None:
    rng = np.random.default_rng(0)
    photos = [(rng.random((100, 140, 3)) * 255).astype(np.uint8), (rng.random((70, 70, 3)) * 255).astype(np.uint8)]
    cifar = np.zeros((10, 32, 32, 3), np.uint8)
    s = jdata.CropSampler(photos, cifar, pixels=64 * 64 * 2, sizes=(32, 64, 96), cifar_fraction=0.3)
    shapes = {s.sample(np.random.default_rng(i)).shape for i in range(40)}
    assert shapes <= {(8, 32, 32, 3), (2, 64, 64, 3), (1, 96, 96, 3)} and len(shapes) == 3
    a, b = s.sample(np.random.default_rng(5)), s.sample(np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_lr_schedule_follows_the_time_budget() -> None:
    clock = [0.0]
    f = warmup_cosine(0, 1000, budget_s=100.0, clock=lambda: clock[0])
    assert f(10) == pytest.approx(warmup_cosine(0, 1000)(10))
    clock[0] = 50.0
    assert f(10) == pytest.approx(0.01 + 0.99 * 0.5)  # half the time spent: half-way down the cosine
    clock[0] = 200.0
    assert f(10) == pytest.approx(0.01)


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image
    from skimage import data

    d = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee"):
        Image.fromarray(getattr(data, name)()).resize((80, 64)).save(d / f"{name}.png")
    return d


def test_hours_budget_stops_checkpointed_and_resumes(photo_dir: Path, tmp_path: Path) -> None:
    opts = TrainOptions(
        arch="resjscc",
        ratio="1/12",
        channels=TINY,
        res_blocks=(0, 1),
        images=str(photo_dir),
        steps=4,
        warmup=1,
        batch_pixels=2 * 32 * 32,
        crop_sizes=(32,),
        checkpoint_every=100,
        eval_every=100,
        threads=1,
        progress=False,
        out=str(tmp_path / "run"),
        export=str(tmp_path / "w"),
        hours=1e-9,
        precision="bf16",
        clip_grad=1.0,
    )
    res = train(opts)
    assert res.steps == 1  # the budget is spent after the first step
    assert (tmp_path / "run" / "resjscc-r1_12" / "checkpoint").is_dir()
    meta = json.loads((tmp_path / "w" / "jscc_resjscc-r1_12.json").read_text())
    assert meta["stopped_by"].startswith("time budget") and meta["steps"] == 1 and meta["weights_dtype"] == "fp16"
    assert meta["images_seen"] == 2 and meta["pixels_seen"] == 2 * 32 * 32
    again = train(replace(opts, resume=True))  # still out of time: no step
    assert again.steps == 1
    done = train(replace(opts, resume=True, hours=1.0))  # a larger budget continues to --steps
    assert done.steps == 4
    meta = json.loads((tmp_path / "w" / "jscc_resjscc-r1_12.json").read_text())
    assert meta["stopped_by"] == "steps" and meta["runs"][0]["start_step"] == 0 and meta["runs"][-1]["start_step"] == 1
    m = load_model(tmp_path / "w" / "jscc_resjscc-r1_12.safetensors")
    assert m.config.arch == "resjscc" and m.ratio == Fraction(1, 12)


def test_train_cli_rejects_bad_budget_and_precision(photo_dir: Path, tmp_path: Path) -> None:
    from vlm_privsc.jscc.cli import run_command

    base = ["--arch", "resjscc", "--images", str(photo_dir), "--steps", "1", "--out", str(tmp_path), "--no-progress"]
    assert run_command("train", [*base, "--hours", "-1"]) == 2
    assert run_command("train", [*base, "--precision", "fp8"]) == 2
    assert run_command("train", [*base, "--ratio", "1/7"]) == 2


def test_simplified_gdn_is_bounded_and_its_parameters_stay_positive() -> None:
    from vlm_privsc.jscc.models import SimplifiedGDN

    g, ig = SimplifiedGDN(4), SimplifiedGDN(4, inverse=True)
    x = torch.randn(2, 4, 5, 5) * 10
    with torch.no_grad():
        assert torch.allclose(g(x), x / (1 + 0.1 * x.abs()), atol=1e-5)  # beta = 1, gamma = 0.1 I at init
        assert torch.allclose(ig(x), x * (1 + 0.1 * x.abs()), atol=1e-5)
        assert g(x).abs().max() < 10  # |x| / gamma_ii
        g.beta.fill_(-3.0)
        g.gamma.fill_(-3.0)
        assert torch.isfinite(g(x)).all() and g(x).abs().max() <= x.abs().max() * 1e6 + 1  # beta >= 1e-6
    # below its bound a parameter gets the gradients that raise it (a smaller output raises beta), not the others
    g(torch.ones(1, 4, 1, 1)).sum().backward()
    assert (g.beta.grad < 0).all()
    g.beta.grad = None
    (-g(torch.ones(1, 4, 1, 1))).sum().backward()
    assert (g.beta.grad == 0).all()


def test_new_resjscc_options_roundtrip_and_old_files_keep_their_architecture(tmp_path: Path) -> None:
    new = default_config("resjscc", 128, channels=TINY)
    assert new.norm == "sgdn" and new.linear_skip
    d = new.to_dict()
    assert d["norm"] == "sgdn" and d["linear_skip"] is True and JSCCConfig.from_dict(d) == new
    old = {k: v for k, v in d.items() if k not in ("norm", "dec_norm", "linear_skip")}
    assert JSCCConfig.from_dict(old).norm == "gdn" and not JSCCConfig.from_dict(old).linear_skip
    with pytest.raises(ConfigError):
        JSCCConfig(arch="adjscc", linear_skip=True)
    with pytest.raises(ConfigError):
        default_config("resjscc", 128, norm="bn")
    m = build_jscc("resjscc", latent_channels=128, channels=TINY).eval()
    p = save_model(m, tmp_path / "jscc_s.safetensors", {}, dtype=torch.float32)
    x = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        a = m.decode(m.encode(x, 3.0), 3.0, size=(32, 48))
        b = load_model(p)
        assert b.config == m.config and torch.equal(b.decode(b.encode(x, 3.0), 3.0, size=(32, 48)), a)


def test_the_codec_flushes_subnormals_only_while_it_runs() -> None:
    from vlm_privsc.jscc.models import _FlushDenormals

    tiny = torch.tensor([1e-39])
    assert (tiny * 1.0).item() != 0  # torch's default: subnormals kept
    with _FlushDenormals():
        assert (tiny * 1.0).item() == 0
        with _FlushDenormals():
            pass
        assert (tiny * 1.0).item() == 0  # nested: still on
    m = _tiny(128)
    with torch.no_grad():
        m.decode(m.encode(torch.rand(1, 3, 32, 32), 5.0), 5.0)
    assert (tiny * 1.0).item() != 0  # back off after encode / decode


def test_linear_path_gains_start_at_one() -> None:
    m = _tiny(128)
    snr = torch.tensor([[0.0], [1.0]])
    assert torch.equal(m.enc_skip_gain(snr), torch.ones(2, 128, 1, 1))
    assert torch.equal(m.dec_skip_gain(snr), torch.ones(2, 128, 1, 1))
