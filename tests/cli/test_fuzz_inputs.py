"""Property tests of the two loaders every command starts with (issue 16): whatever bytes an
image or a database file holds, the command answers exit 0, or exit 2 with one line; never a
traceback, never a modified input, never a partial output set. Bounded to seconds in CI."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import tests.guard.fakes  # noqa: F401  (registers the fake detector)
from tests.guard.fakes import DB_YAML
from vlm_privsc.cli import main

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _png(w: int, h: int, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h)).save(buf, format="PNG")
    return buf.getvalue()


_SEEDS = [_png(16, 16, "RGB"), _png(9, 40, "RGBA"), _png(16, 16, "I;16"), _png(12, 12, "P"), _png(7, 64, "L")]


def _mutate(seed: bytes, data: st.DataObject) -> bytes:
    """A real PNG with some bytes flipped, cut short or extended: reaches the decoders."""
    b = bytearray(seed)
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(b)))
    return bytes(b[:cut]) + data.draw(st.binary(max_size=16))


def _check(rc: int, err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("vlmsc: error: "), err


@FUZZ
@given(data=st.data())
def test_image_loader_fuzz(tmp_path_factory, capsys, data):
    from vlm_privsc.errors import InputError
    from vlm_privsc.io.images import load_rgb

    d = tmp_path_factory.mktemp("fz")
    raw = (
        _mutate(data.draw(st.sampled_from(_SEEDS)), data)
        if data.draw(st.booleans())
        else data.draw(st.binary(max_size=64))
    )
    f = d / "in.png"
    f.write_bytes(raw)
    try:
        arr, loaded = load_rgb(f)
    except InputError as e:
        assert "\n" not in str(e) and len(str(e)) < 300
    else:
        assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3 and min(arr.shape[:2]) >= 8
        assert loaded.tensor.shape == (1, 3, *arr.shape[:2])
    assert f.read_bytes() == raw  # the input is only read


@FUZZ
@given(data=st.data())
def test_guard_command_fuzz(tmp_path_factory, capsys, data):
    """The whole command on a fuzzed image, with the fake detector: exit 0 with a complete
    output set, or one line and exit 2 with no output at all."""
    d = tmp_path_factory.mktemp("fg")
    db = d / "db.yaml"
    db.write_text(DB_YAML)
    raw = _mutate(data.draw(st.sampled_from(_SEEDS)), data)
    f = d / "in.png"
    f.write_bytes(raw)
    out = d / "out"
    rc = main(["guard", "-i", str(f), "--db", str(db), "--policy", "all", "-o", str(out)])
    _check(rc, capsys.readouterr().err)
    assert f.read_bytes() == raw
    if rc == 0:
        assert sorted(p.name for p in out.iterdir()) == [
            "manifest.json",
            "mask.png",
            "masked.png",
            "overlay.png",
            "regions.json",
        ]
    else:
        assert not out.exists()
    assert sorted(p.name for p in d.iterdir()) == sorted(["db.yaml", "in.png", *(["out"] if rc == 0 else [])])


_YAML_PIECES = st.sampled_from(
    [
        "categories:",
        "policies:",
        "extends: none",
        "extends: default",
        "  face:",
        "    threshold: 0.5",
        "    threshold: -3",
        "    detectors:",
        "      - name: mtcnn",
        "      - name: nope",
        "        params: {max_side: 64}",
        "        params: {bogus: 1}",
        "        params: {max_side: big}",
        "  faces: [face]",
        "  all: [face, ghost]",
        "a: &a [1, 2, 3]",
        "b: [*a, *a, *a]",
        "c: *zz",
        "- x",
        "? y",
        ": z",
        "'",
        '"',
        "{",
        "[",
        "\t",
        "%YAML 1.1",
        "!!python/object:os.system ls",
        "key: !!binary aGVsbG8=",
        "    prompts: [a face]",
        "    min_size_px: 99999999999999",
    ]
)


@FUZZ
@given(lines=st.lists(_YAML_PIECES, max_size=12), junk=st.text(max_size=20))
def test_database_loader_fuzz(tmp_path_factory, capsys, lines, junk):
    d = tmp_path_factory.mktemp("fy")
    f = d / "db.yaml"
    text = "\n".join(lines) + "\n" + junk
    f.write_text(text, encoding="utf-8")
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    rc = main(["db", "validate", str(f)])
    _check(rc, capsys.readouterr().err)
    assert hashlib.sha256(f.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in d.iterdir()) == ["db.yaml"]


@pytest.mark.parametrize("text", ["!!python/object/apply:os.system ['touch /tmp/vlmsc-pwned']\n"])
def test_database_loader_never_runs_yaml_tags(tmp_path: Path, capsys, text):
    f = tmp_path / "db.yaml"
    f.write_text(text)
    rc = main(["db", "validate", str(f)])
    _check(rc, capsys.readouterr().err)
    assert rc == 2 and not Path("/tmp/vlmsc-pwned").exists()
