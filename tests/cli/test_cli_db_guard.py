from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import tests.guard.fakes  # noqa: F401  (registers the fake detector)
from vlm_privsc.cli import app, main

runner = CliRunner()


def _one_error_line(res) -> str:
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("vlmsc: error: ")
    assert "Traceback" not in res.output
    return lines[0]


def test_db_list_and_show():
    res = runner.invoke(app, ["db", "list"])
    assert res.exit_code == 0, res.output
    for word in ("face", "license_plate", "screen", "faces", "all"):
        assert word in res.stdout
    res = runner.invoke(app, ["db", "show", "face"])
    assert res.exit_code == 0 and "inpaint_prompt" in res.stdout and "category: face" in res.stdout
    res = runner.invoke(app, ["db", "show", "all"])
    assert res.exit_code == 0 and "resolved:" in res.stdout
    res = runner.invoke(app, ["db", "show", "unicorn"])
    assert res.exit_code == 2
    assert "no category or policy 'unicorn'" in _one_error_line(res)


def test_db_validate(tmp_path: Path, fake_db: Path):
    res = runner.invoke(app, ["db", "validate", str(fake_db)])
    assert res.exit_code == 0 and "valid" in res.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  face:\n    threshold: -1\n")
    res = runner.invoke(app, ["db", "validate", str(bad)])
    assert res.exit_code == 2
    line = _one_error_line(res)
    assert "bad.yaml:3" in line and "categories.face.threshold" in line


def test_guard_writes_the_four_outputs(tmp_path: Path, fake_db: Path, photo: Path):
    out = tmp_path / "out"
    before = photo.read_bytes()
    res = runner.invoke(
        app, ["guard", "--image", str(photo), "--policy", "all", "--db", str(fake_db), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "mask.png",
        "masked.png",
        "overlay.png",
        "regions.json",
    ]
    regions = json.loads((out / "regions.json").read_text())["regions"]
    assert {r["category"] for r in regions} == {"face", "sign"}
    face = next(r for r in regions if r["category"] == "face")
    assert face["box"] == [40, 40, 80, 90] and face["detector"] == "fixed_boxes"
    mask = np.asarray(Image.open(out / "mask.png"))
    assert mask.shape == (128, 160) and mask[65, 60] == 255 and mask[5, 5] == 0
    masked = np.asarray(Image.open(out / "masked.png"))
    orig = np.asarray(Image.open(photo))
    assert np.array_equal(masked[mask == 0], orig[mask == 0])
    assert not np.array_equal(masked[mask == 255], orig[mask == 255])
    assert photo.read_bytes() == before  # input untouched
    assert "warning: category 'ghost' has no offline detector" in res.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--image", "{tmp}/missing.jpg"], "not found"),
        (["--image", "{bad}"], "cannot read image"),
        (["--image", "{photo}", "--policy", "everything"], "unknown policy 'everything'; valid:"),
        (["--image", "{photo}", "--fill", "glitter"], "unknown fill 'glitter'"),
        (["--image", "{photo}", "--db", "{tmp}/nodb.yaml"], "privacy database"),
    ],
)
def test_guard_bad_input_one_line_exit_2_nothing_written(tmp_path: Path, photo: Path, fake_db: Path, args, needle):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"garbage")
    fmt = {"tmp": tmp_path, "photo": photo, "bad": bad}
    argv = ["guard", *[a.format(**fmt) for a in args], "--out", str(tmp_path / "out")]
    if "--db" not in args:
        argv += ["--db", str(fake_db)]
    res = runner.invoke(app, argv)
    assert res.exit_code == 2, res.output
    assert needle in _one_error_line(res)
    assert not (tmp_path / "out").exists()


def test_main_entry_returns_codes(capsys):
    assert main(["--version"]) == 0
    assert "vlmsc" in capsys.readouterr().out
    assert main(["db", "show", "nope"]) == 2
    assert main(["no-such-command"]) == 2
