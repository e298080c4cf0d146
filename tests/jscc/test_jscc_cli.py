"""`vlmsc train jscc` / `vlmsc bench jscc` end to end (no shared data needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vlm_privsc.jscc import build_jscc, load_model, save_model


class _Command:
    """``vlmsc train jscc`` / ``vlmsc bench jscc`` as a ``main(argv)`` (what scripts/train_jscc.py
    and scripts/bench_jscc.py run)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def main(self, argv: list[str] | None = None) -> int:
        from vlm_privsc.jscc.cli import run_command

        return run_command(self.name, argv)


def _script(name: str) -> _Command:
    return _Command({"train_jscc": "train", "bench_jscc": "bench"}[name])


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data

    d = tmp_path_factory.mktemp("imgs")
    for name in ("astronaut", "coffee", "chelsea"):
        img = Image.fromarray(getattr(data, name)()).resize((64, 48), Image.BICUBIC)
        img.save(d / f"{name}.png")
    return d


def test_train_resume_is_exact_and_exports(image_dir: Path, tmp_path: Path) -> None:
    train = _script("train_jscc").main
    common = [
        "--images",
        str(image_dir),
        "--ratio",
        "1/12",
        "--steps",
        "6",
        "--batch",
        "4",
        "--warmup",
        "2",
        "--checkpoint-every",
        "2",
        "--eval-every",
        "3",
        "--threads",
        "1",
        "--no-progress",
        "--seed",
        "3",
    ]
    # straight through
    assert train([*common, "--out", str(tmp_path / "a"), "--export", str(tmp_path / "wa")]) == 0
    # interrupted at step 3, then resumed
    assert train([*common, "--out", str(tmp_path / "b"), "--export", str(tmp_path / "wb"), "--stop-at", "3"]) == 0
    assert not (tmp_path / "wb").exists()  # nothing exported before the last step
    assert train([*common, "--out", str(tmp_path / "b"), "--export", str(tmp_path / "wb"), "--resume"]) == 0
    a = load_model(tmp_path / "wa" / "jscc_adjscc-r1_12.safetensors")
    b = load_model(tmp_path / "wb" / "jscc_adjscc-r1_12.safetensors")
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), ka
    meta = json.loads((tmp_path / "wb" / "jscc_adjscc-r1_12.json").read_text())
    assert meta["steps"] == 6 and meta["images_seen"] == 24 and meta["ratio"] == "1/12"
    assert meta["trained_with"].startswith("vlmsc train jscc") and "--ratio 1/12" in meta["trained_with"]
    assert a.config.latent_channels == 8 and a.config.arch == "adjscc"


def test_train_warm_start_from_another_ratio(image_dir: Path, tmp_path: Path) -> None:
    src = save_model(build_jscc("adjscc", latent_channels=16), tmp_path / "jscc_src.safetensors")
    rc = _script("train_jscc").main(
        [
            "--images",
            str(image_dir),
            "--ratio",
            "1/12",
            "--steps",
            "1",
            "--batch",
            "2",
            "--init",
            str(src),
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
            "--export",
            str(tmp_path / "w"),
            "--lr",
            "0",
        ]
    )
    assert rc == 0
    m = load_model(tmp_path / "w" / "jscc_adjscc-r1_12.safetensors")
    s = load_model(src)
    assert torch.equal(m.enc[0].conv.weight, s.enc[0].conv.weight)  # copied (lr 0 keeps it)
    assert m.enc_out.weight.shape[0] == 8


def test_train_user_errors(tmp_path: Path) -> None:
    train = _script("train_jscc").main
    assert train(["--images", str(tmp_path / "missing"), "--steps", "1"]) == 2
    assert train(["--images", str(tmp_path), "--ratio", "1/7", "--steps", "1"]) == 2


def test_bench_images_json_table_and_plots(image_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    mpath = save_model(build_jscc("adjscc", latent_channels=16, channels=(4, 6, 6, 6)), tmp_path / "jscc_t.safetensors")
    out = tmp_path / "r.json"
    rc = _script("bench_jscc").main(
        [
            "--images",
            str(image_dir),
            "--model",
            str(mpath),
            "--snr",
            "0",
            "10",
            "--channel",
            "awgn",
            "rayleigh",
            "--limit",
            "2",
            "--json",
            str(out),
            "--markdown",
            str(tmp_path / "t.md"),
            "--plots",
            str(tmp_path / "p"),
            "--no-throughput",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    rep = json.loads(out.read_text())
    rows = rep["results"]
    assert len(rows) == 4
    assert {r["channel"] for r in rows} == {"awgn", "rayleigh_block_zf"}
    for r in rows:
        for key in ("dataset", "channel", "snr_db", "ratio", "psnr_db", "ssim", "sep_fit_fraction"):
            assert key in r
        assert r["ratio"] == "1/6" and r["n_images"] == 2 and r["dataset"] == image_dir.name
        assert 0 < r["psnr_db"] < 60 and -1 <= r["ssim"] <= 1
    awgn = {r["snr_db"]: r for r in rows if r["channel"] == "awgn"}
    # 64x48 at k/n 1/6: 1536 uses; at 10 dB 5313 bits = 664 bytes, a WebP fits; more budget never hurts
    assert awgn[10.0]["sep_fit_fraction"] == 1.0
    assert awgn[10.0]["sep_psnr_db"] >= (awgn[0.0]["sep_psnr_db"] or 0)
    assert "--snr 0 10" in rep["command"]
    assert (tmp_path / "t.md").read_text().count("\n") >= 6
    assert len(list((tmp_path / "p").glob("*.png"))) == 2
    assert "DeepJSCC" in capsys.readouterr().out


def test_bench_user_errors(tmp_path: Path) -> None:
    bench = _script("bench_jscc").main
    assert bench(["--images", str(tmp_path / "missing"), "--no-throughput"]) == 2
    assert bench(["--images", str(tmp_path), "--model", "no-such-model", "--no-throughput"]) == 2
    assert bench(["--images", str(tmp_path), "--channel", "rician", "--no-throughput"]) == 2


def test_separation_helpers() -> None:
    from vlm_privsc.jscc import separation as sep

    img = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    lad = sep.CodecLadder(img)
    top = lad.best_within(10**9)
    assert top is not None and top.quality == 100
    assert lad.best_within(8) is None  # no file is one byte
    budget = lad.size_bits("jpeg", 50) + 1
    q = lad.highest_quality_within("jpeg", budget)
    assert q is not None and lad.size_bits("jpeg", q) <= budget < lad.size_bits("jpeg", q + 1)
    best = lad.best_within(budget)
    assert best is not None and best.bits <= budget and best.psnr_db >= lad.point("jpeg", q).psnr_db
    assert lad.grey().bits == 0 and lad.grey().psnr_db < best.psnr_db
    assert sep.capacity_bits(100, 10.0) == pytest.approx(100 * np.log2(11))
    erg = sep.ergodic_rayleigh_capacity(10.0)
    assert 2.8 < erg < np.log2(11)  # Jensen: fading costs capacity (about 2.9 bits at 10 dB)


def test_strong_separation_reference_beats_or_ties_jpeg_webp(tmp_path: Path) -> None:
    from skimage import data

    from vlm_privsc.jscc import separation as sep

    img = np.asarray(Image.fromarray(data.astronaut()).resize((48, 40)))
    lad = sep.CodecLadder(img, tuple(c for c in sep.STRONG_CODECS if sep.codec_available(c)))
    for budget in (3_000, 12_000, 40_000):
        q = lad.j2k_within(budget)
        assert q is not None and lad.size_bits("jpeg2000", q) <= budget  # rate-targeted, always within budget
        best = lad.best_within(budget)
        jw = lad.best_within(budget, sep.CODECS)
        assert best is not None and best.bits <= budget
        assert jw is None or best.psnr_db >= jw.psnr_db
    # colour transform on (mct=1): JPEG 2000 at 40 kbit is a good picture
    assert lad.point("jpeg2000", lad.j2k_within(40_000)).psnr_db > 30
    for codec in ("avif", "heic"):
        if not sep.codec_available(codec):
            continue  # an older Pillow / no pillow-heif: the bench then says so in one line
        qa = lad.highest_quality_within(codec, 12_000)
        assert qa is not None and lad.size_bits(codec, qa) <= 12_000 < lad.size_bits(codec, qa + 1)


def test_separation_disk_cache_skips_the_encoders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vlm_privsc.jscc import separation as sep

    img = (np.random.default_rng(1).random((24, 24, 3)) * 255).astype(np.uint8)
    first = sep.CodecLadder(img, ("jpeg", "webp", "jpeg2000"), cache_dir=tmp_path).best_within(8_000)

    def boom(*a, **k):
        raise AssertionError("encoded again")

    monkeypatch.setattr(sep, "_encode", boom)
    monkeypatch.setattr(sep, "_encode_j2k", boom)
    again = sep.CodecLadder(img, ("jpeg", "webp", "jpeg2000"), cache_dir=tmp_path).best_within(8_000)
    assert again == first


def test_bench_strong_reference_columns_and_codec_errors(image_dir: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    mpath = save_model(build_jscc("adjscc", latent_channels=16, channels=(4, 6, 6, 6)), tmp_path / "jscc_t.safetensors")
    bench = _script("bench_jscc").main
    out = tmp_path / "r.json"
    assert (
        bench(
            [
                "--images",
                str(image_dir),
                "--model",
                str(mpath),
                "--snr",
                "10",
                "--limit",
                "2",
                "--no-throughput",
                "--threads",
                "1",
                "--sep-codecs",
                "jpeg,webp,jpeg2000",
                "--no-sep-cache",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    (row,) = json.loads(out.read_text())["results"]
    assert row["best_sep_psnr_db"] >= row["sep_psnr_db"]  # the JPEG/WebP column stays, the best is at least as good
    assert row["best_gain_db"] == pytest.approx(row["psnr_db"] - row["best_sep_psnr_db"], abs=2e-3)
    assert set(row["best_sep_codecs"]) <= {"jpeg", "webp", "jpeg2000"}
    assert bench(["--images", str(image_dir), "--model", str(mpath), "--no-throughput", "--sep-codecs", "bpg"]) == 2
