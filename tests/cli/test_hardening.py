"""Bad and edge inputs (issue 16): one line and exit 2, never a traceback, never a modified
input, never a partial output set. Each test failed before its fix."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tests.guard.fakes  # noqa: F401  (registers the fake detector)
from vlm_privsc.cli import main
from vlm_privsc.errors import ConfigError, InputError, OutputError


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("vlmsc: error: ") and "Traceback" not in err
    return lines[0]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- 1. thin images ------------------------------------------------------------------
def test_detection_never_shrinks_the_short_side_to_nothing():
    from vlm_privsc.guard.detectors._util import fit_max_side
    from vlm_privsc.guard.detectors.text import _strip_mosaic
    from vlm_privsc.guard.guard import MIN_DETECT_SIDE, detection_scale

    strip = np.zeros((64, 4000, 3), np.uint8)
    work, s = fit_max_side(strip, 640)
    assert min(work.shape[:2]) >= 48 and s < 1.0
    assert min(64, 4000) * detection_scale(64, 4000, 1280) >= MIN_DETECT_SIDE
    assert 5000 * detection_scale(8, 5000, 1280) <= 2 * 1280 + 1  # a sliver is not blown up to 20000 px
    assert _strip_mosaic(np.zeros((64, 300, 3), np.uint8)) is None  # an ordinary image is not tiled


@pytest.mark.parametrize("vertical", [False, True])
def test_text_mosaic_maps_lines_back_onto_the_strip(vertical: bool):
    """A long strip is cut in overlapping tiles stacked into one near-square image for PP-OCR;
    a line found in that mosaic is mapped back to where it is on the strip."""
    from vlm_privsc.guard.detectors.text import _strip_mosaic

    strip = np.zeros((32, 2000, 3), np.uint8)
    strip[10:20, 1500:1540] = 255  # a "line" near the end
    if vertical:
        strip = strip.transpose(1, 0, 2).copy()
    m = _strip_mosaic(strip)
    assert m is not None and max(m.image.shape[:2]) < 3 * min(m.image.shape[:2])
    ys, xs = np.nonzero(m.image[:, :, 0])
    across = ys if not vertical else xs
    band = across // m.pitch
    boxes = []
    for k in sorted(set(band.tolist())):  # the line lies in one or two overlapping tiles: each maps back
        sel = band == k
        x, y = xs[sel], ys[sel]
        quad = np.array(
            [[[x.min(), y.min()], [x.max() + 1, y.min()], [x.max() + 1, y.max() + 1], [x.min(), y.max() + 1]]],
            dtype=float,
        )
        got = m.to_strip(quad)[0]
        boxes.append((got[:, 0].min(), got[:, 1].min(), got[:, 0].max(), got[:, 1].max()))
    want = (1500, 10, 1540, 20) if not vertical else (10, 1500, 20, 1540)
    assert want in boxes  # whole in one tile (the overlap is a quarter tile, the line is shorter)
    for b in boxes:  # a piece cut by a tile's edge maps inside it
        assert want[0] <= b[0] and want[1] <= b[1] and b[2] <= want[2] and b[3] <= want[3]


@pytest.mark.parametrize("shape", [(64, 4000), (5000, 8)])
def test_the_real_guard_survives_thin_photos(shape: tuple[int, int]):
    import torch

    from vlm_privsc.db import load_db
    from vlm_privsc.guard import PrivacyGuard

    img = torch.rand(1, 3, *shape, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = PrivacyGuard(load_db(), "all").load().run(img, torch.Generator().manual_seed(0))
    assert res.mask.shape[-2:] == shape


# --- 2. detector parameters ---------------------------------------------------------
@pytest.mark.parametrize(
    "params, needle",
    [
        ("{nonsense: 3}", "params.nonsense: unknown parameter of detector 'mtcnn'; valid: min_face_size"),
        ('{max_side: "big"}', "params.max_side: Input should be a valid integer"),
    ],
)
def test_detector_parameters_are_checked_when_the_database_loads(tmp_path, capsys, params, needle):
    f = tmp_path / "db.yaml"
    f.write_text(f"categories:\n  face:\n    detectors:\n      - name: mtcnn\n        params: {params}\n")
    rc, _, err = _run(capsys, ["db", "validate", str(f)])
    line = _one_line(err)
    assert rc == 2 and f"{f}:5: categories.face.detectors.0.{needle}" in line


def test_registry_coerces_good_parameters():
    from vlm_privsc.guard.detectors import DETECTORS

    assert DETECTORS.check_params("mtcnn", {"max_side": "640", "thresholds": [0.6, 0.7, 0.8]}) == {
        "max_side": 640,
        "thresholds": [0.6, 0.7, 0.8],
    }


# --- 3. YAML bombs, deep nesting, devices --------------------------------------------
def _laughs(levels: int) -> str:
    text = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
    return text + "categories: 5\n"


@pytest.mark.parametrize(
    "text, needle",
    [
        (_laughs(9), "aliases expand to more than 100,000 values"),
        (_laughs(12), "aliases expand to more than 100,000 values"),
        ("a: &a [*a]\n", "refers to itself"),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nested"),
        ("categories:\n  face:\n    threshold: " + "9" * 5000 + "x\n", "threshold"),
    ],
    ids=["laughs-9", "laughs-12", "self-alias", "deep", "long-value"],
)
def test_yaml_errors_are_short_and_bombs_refused(tmp_path, capsys, text, needle):
    f = tmp_path / "bomb.yaml"
    f.write_text(text)
    rc, _, err = _run(capsys, ["db", "validate", str(f)])
    line = _one_line(err)
    assert rc == 2 and needle in line and len(line) < 400


def test_devices_pipes_and_huge_files_are_refused(tmp_path, capsys):
    from vlm_privsc.db.loader import MAX_YAML_BYTES

    fifo = tmp_path / "db.yaml"
    os.mkfifo(fifo)
    rc, _, err = _run(capsys, ["db", "validate", str(fifo)])
    assert rc == 2 and "not a regular file" in _one_line(err)
    rc, _, err = _run(capsys, ["db", "validate", "/dev/zero"])
    assert rc == 2 and "not a regular file" in _one_line(err)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_YAML_BYTES + 1))
    rc, _, err = _run(capsys, ["db", "validate", str(big)])
    assert rc == 2 and "too large" in _one_line(err)
    rc, _, err = _run(capsys, ["guard", "-i", str(fifo), "-o", str(tmp_path / "o")])
    assert rc == 2 and "not a regular file" in _one_line(err)


# --- 4. SNR range --------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, option",
    [
        (["--snr=-1000"], "--snr"),
        (["--snr", "1e9"], "--snr"),
        (["--eve-snr", "nan"], "--eve-snr"),
        (["--snr", "inf"], "--snr"),
        (["--eve-snr", "61"], "--eve-snr"),
    ],
)
def test_absurd_snrs_are_refused_naming_the_option(tmp_path, capsys, photo, argv, option):
    out = tmp_path / "out"
    rc, _, err = _run(capsys, ["run", "--demo-key", "-i", str(photo), "-o", str(out), *argv])
    line = _one_line(err)
    assert rc == 2 and line.startswith(f"vlmsc: error: {option}: ") and "-30 .. 60 dB" in line
    assert not out.exists()


def test_eval_checks_its_snrs_before_anything(tmp_path, capsys, photo):
    faces = tmp_path / "faces" / "alice"
    faces.mkdir(parents=True)
    (faces / "1.png").write_bytes(photo.read_bytes())
    out = tmp_path / "ev"
    rc, _, err = _run(capsys, ["eval", "--faces", str(faces.parent), "--snr", "nan", "-o", str(out)])
    assert rc == 2 and "--snr" in _one_line(err) and not out.exists()


def test_channel_config_and_codec_conditioning_ranges():
    from vlm_privsc.channel.base import SNR_RANGE_DB, check_snr_db
    from vlm_privsc.config import ChannelConfig
    from vlm_privsc.pipeline import CODEC_SNR_RANGE_DB, codec_snr

    assert SNR_RANGE_DB == (-30.0, 60.0)
    assert check_snr_db(60, "x") == 60.0 and check_snr_db("-30", "x") == -30.0
    for bad in (float("nan"), 60.01, -1000, "loud"):
        with pytest.raises(InputError, match="^x: "):
            check_snr_db(bad, "x")
    with pytest.raises(ValueError, match="outside the valid range"):
        ChannelConfig(snr_db=1e9)
    assert codec_snr(45.0) == CODEC_SNR_RANGE_DB[1] and codec_snr(-25.0) == CODEC_SNR_RANGE_DB[0]
    assert codec_snr(7.5) == 7.5


# --- 5. output errors that are the user's -------------------------------------------
def test_out_below_a_file_or_naming_a_file(tmp_path, capsys, photo, fake_db):
    rc, _, err = _run(capsys, ["guard", "-i", str(photo), "--db", str(fake_db), "-o", str(photo / "sub")])
    assert rc == 2 and "is a file, not a folder" in _one_line(err)
    rc, _, err = _run(capsys, ["guard", "-i", str(photo), "--db", str(fake_db), "-o", str(fake_db)])
    assert rc == 2 and "is a file, not a folder" in _one_line(err)
    rc, _, err = _run(capsys, ["eval", "--faces", str(tmp_path), "-o", str(photo)])
    assert rc == 2 and "is a file, not a folder" in _one_line(err)


def test_seed_beyond_63_bits_is_a_usage_error(capsys, photo, tmp_path):
    rc, _, err = _run(
        capsys, ["run", "--demo-key", "-i", str(photo), "-o", str(tmp_path / "o"), "--seed", str(2**64 + 5)]
    )
    assert rc == 2 and "--seed" in _one_line(err)


def test_read_only_or_full_disk_names_the_path(tmp_path, capsys, photo, fake_db, monkeypatch):
    import vlm_privsc.io.outputs as outputs

    def read_only(path, data):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(outputs, "_write_file", read_only)
    out = tmp_path / "out"
    rc, _, err = _run(capsys, ["guard", "-i", str(photo), "--db", str(fake_db), "-o", str(out)])
    line = _one_line(err)
    assert rc == 2 and str(out) in line and "read-only" in line and not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_atomic_single_files_name_their_path_on_errors(tmp_path, monkeypatch):
    import vlm_privsc.io.atomic as atomic

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "_write", full)
    with pytest.raises(OutputError, match=r"cannot write '.*x\.json': no space left on the device"):
        atomic.atomic_write_json(tmp_path / "x.json", {})


# --- 6. all-or-nothing output sets ---------------------------------------------------
def test_output_set_is_replaced_whole_or_not_at_all(tmp_path):
    from vlm_privsc.io.outputs import MANIFEST, write_output_set

    out = tmp_path / "set"
    first = {"a.png": b"old-a", "b.png": b"old-b", "report.json": {"v": 1}}
    write_output_set(out, first)
    before = _digest(out)
    assert set(before) == {"a.png", "b.png", "report.json", MANIFEST}
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["files"]["a.png"]["sha256"] == hashlib.sha256(b"old-a").hexdigest()
    second = {"a.png": b"new-a", "b.png": b"new-b", "report.json": {"v": 2}}
    with pytest.raises(OutputError, match=r"left unchanged\): .*b\.png: no space left"):
        write_output_set(out, second, _fail_after=1)  # fails between the first and the second file
    assert _digest(out) == before  # the earlier set, untouched: no new PNG beside the old report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]  # no partial folder left behind
    write_output_set(out, second)
    assert (out / "a.png").read_bytes() == b"new-a" and json.loads((out / "report.json").read_text()) == {"v": 2}


def test_output_set_never_replaces_a_folder_of_other_files(tmp_path, capsys, photo, fake_db):
    from vlm_privsc.io.outputs import write_output_set

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(OutputError, match="holds files this command did not write \\(holiday.jpg\\)"):
        write_output_set(folder, {"masked.png": b"x"})
    assert (folder / "holiday.jpg").read_bytes() == b"precious"
    legacy = tmp_path / "legacy"  # an output folder of an older version (no manifest): replaced
    legacy.mkdir()
    (legacy / "masked.png").write_bytes(b"old")
    write_output_set(legacy, {"masked.png": b"new", "mask.png": b"m"})
    assert (legacy / "masked.png").read_bytes() == b"new"


def test_output_files_follow_the_umask(tmp_path):
    from vlm_privsc.io.outputs import write_output_set

    old = os.umask(0o027)
    try:
        write_output_set(tmp_path / "o", {"a.png": b"1"})
    finally:
        os.umask(old)
    assert (tmp_path / "o" / "a.png").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "o").stat().st_mode & 0o777 == 0o750


# --- 7. an output never replaces an input ---------------------------------------------
def test_guard_refuses_to_overwrite_its_own_input(tmp_path, capsys, photo, fake_db):
    out = tmp_path / "out"
    rc, _, _ = _run(capsys, ["guard", "-i", str(photo), "--db", str(fake_db), "--policy", "all", "-o", str(out)])
    assert rc == 0
    before = _digest(out)
    for image, db in ((out / "masked.png", fake_db), (photo, out / "regions.json")):
        argv = ["guard", "-i", str(image), "--db", str(db), "--policy", "all", "-o", str(out)]
        rc, _, err = _run(capsys, argv)
        assert rc == 2 and "lies inside the output folder" in _one_line(err)
        assert _digest(out) == before


# --- 8. face lists -------------------------------------------------------------------
def test_face_list_rows_need_an_identity(tmp_path, photo):
    from vlm_privsc.evaluation import load_faces

    csv = tmp_path / "faces.csv"
    csv.write_text(f"image,identity\n{photo.name},alice\n{photo.name},\n")
    with pytest.raises(InputError, match="line 3: the identity of 'photo.png' is empty"):
        load_faces(csv)
    csv.write_text(f"image,identity\n{photo.name},alice\n{photo.name}\n")  # a short row: None
    with pytest.raises(InputError, match="line 3"):
        load_faces(csv)


# --- 9. non-finite pixels ------------------------------------------------------------
def test_float_tiff_with_nans_is_refused(tmp_path, capsys):
    a = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    a[3, 4:9] = np.nan
    f = tmp_path / "nan.tif"
    Image.fromarray(a, mode="F").save(f)
    rc, _, err = _run(capsys, ["guard", "-i", str(f), "-o", str(tmp_path / "o")])
    line = _one_line(err)
    assert rc == 2 and "5 non-finite pixel values" in line and not (tmp_path / "o").exists()


def test_pixel_bombs_are_refused_from_the_header(tmp_path):
    from vlm_privsc.io.images import MAX_IMAGE_PIXELS, load_rgb

    f = tmp_path / "bomb.png"
    Image.new("1", (MAX_IMAGE_PIXELS // 4000 + 1, 4000)).save(f)  # a few kB claiming > 64 Mpx
    assert f.stat().st_size < 2**20
    with pytest.raises(InputError, match="too large"):
        load_rgb(f)


# --- 11. Ctrl-C ----------------------------------------------------------------------
def test_ctrl_c_says_it_was_interrupted(capsys, photo, monkeypatch):
    import vlm_privsc.db as db

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(db, "load_db", interrupted)
    rc, _, err = _run(capsys, ["guard", "-i", str(photo), "-o", "/nonexistent-dir-for-test/o"])
    assert rc == 130 and err.strip() == "vlmsc: interrupted"


def test_usage_errors_are_one_line(capsys):
    for argv in (["run", "--bogus"], ["run", "--max-side", "3"], ["db", "validate"]):
        rc, _, err = _run(capsys, argv)
        assert rc == 2 and "--help" in _one_line(err)


# --- 12. a batch goes on past unreadable photos ----------------------------------------
def test_unreadable_photos_are_skipped_and_reported(tmp_path, photo):
    from vlm_privsc.evaluation import load_faces
    from vlm_privsc.evaluation.dataset import readable_photos
    from vlm_privsc.evaluation.plots import markdown_report

    root = tmp_path / "faces"
    for ident in ("alice", "bob"):
        (root / ident).mkdir(parents=True)
        (root / ident / "1.png").write_bytes(photo.read_bytes())
    (root / "bob" / "2.jpg").write_bytes(b"not a jpeg")
    good, skipped = readable_photos(load_faces(root))
    assert [g.key for g in good] == ["alice/1.png", "bob/1.png"]
    assert [s.key for s in skipped] == ["bob/2.jpg"] and "not a supported image file" in skipped[0].reason
    with pytest.raises(InputError, match="bob/2.jpg.*--strict"):
        readable_photos(load_faces(root), strict=True)
    md = markdown_report(
        {"by_config": [], "leakage_reduction": {}}, {"skipped": [{"photo": s.key, "reason": s.reason} for s in skipped]}
    )
    assert "## Skipped photos (1)" in md and "bob/2.jpg" in md


def test_config_error_for_presets_keeps_a_line(tmp_path):
    from vlm_privsc.config import load_preset

    f = tmp_path / "p.yaml"
    f.write_text("name: x\nchannel:\n  snr_db: 500\n")
    with pytest.raises(ConfigError, match=r"p\.yaml:3: channel\.snr_db: .*outside the valid range"):
        load_preset(f)


def test_ctrl_c_between_the_two_renames_puts_the_earlier_set_back(tmp_path, monkeypatch):
    import vlm_privsc.io.outputs as outputs

    out = tmp_path / "set"
    outputs.write_output_set(out, {"a.png": b"old"})
    before = _digest(out)
    real = os.rename
    calls = []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new set moving into place
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        outputs.write_output_set(out, {"a.png": b"new"})
    monkeypatch.setattr(outputs.os, "rename", real)
    assert _digest(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["set"]
