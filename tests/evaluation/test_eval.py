from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vlm_privsc.cli import app
from vlm_privsc.errors import InputError
from vlm_privsc.evaluation import load_faces, summarise

runner = CliRunner()


@pytest.fixture
def faces_dir(tmp_path: Path) -> Path:
    """Two identities, two photos each (real faces: astronaut and Grace Hopper, plus mirrors)."""
    import matplotlib.cbook as cb
    import skimage.data

    root = tmp_path / "faces"
    a = Image.fromarray(skimage.data.astronaut()).resize((160, 160))
    g = Image.open(cb.get_sample_data("grace_hopper.jpg")).convert("RGB").resize((128, 160))
    for name, im in (("astro", a), ("grace", g)):
        (root / name).mkdir(parents=True)
        im.save(root / name / "1.png")
        im.transpose(Image.FLIP_LEFT_RIGHT).save(root / name / "2.png")
    return root


def test_load_faces_folder_and_csv(faces_dir: Path, tmp_path: Path):
    items = load_faces(faces_dir)
    assert [i.identity for i in items] == ["astro", "grace", "astro", "grace"]  # identities in turn
    assert len(load_faces(faces_dir, limit=2)) == 2
    f = tmp_path / "list.csv"
    f.write_text("file,cluster_id\nfaces/astro/1.png,0\nfaces/grace/1.png,1\n")
    items = load_faces(f)
    assert [(i.key, i.identity) for i in items] == [("faces/astro/1.png", "0"), ("faces/grace/1.png", "1")]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="needs an image column"):
        load_faces(bad)
    with pytest.raises(InputError, match="not found"):
        load_faces(tmp_path / "nope")


def _rows(**kw):
    base = dict(
        policy="none",
        scheme="none",
        channel="awgn",
        bob_snr_db="10",
        eve_snr_db="10",
        eve_match="1",
        eve_reid_top1="1",
        eve_similarity="0.8",
        eve_psnr_db="30",
        bob_psnr_db="30",
        bob_ssim="0.9",
        bob_psnr_nonprivate_db="30",
        bob_psnr_nonprivate_none_db="30",
        bob_match="1",
        bob_similarity="0.8",
        bob_category_ok="",
        eve_category_ok="",
        guard_face_coverage="0",
    )
    base.update(kw)
    return base


def test_summary_leakage_reduction():
    rows = [
        _rows(),
        _rows(),
        _rows(eve_match="0"),
        _rows(eve_match="1"),
        _rows(policy="faces", eve_match="0", bob_psnr_nonprivate_db="29.8", bob_psnr_nonprivate_none_db="29.6"),
        _rows(policy="faces", eve_match="0"),
        _rows(policy="faces", eve_match="1"),
        _rows(policy="faces", eve_match="0"),
    ]
    s = summarise(rows)
    by = {c["policy"]: c for c in s["by_config"]}
    assert by["none"]["eve_match_rate"] == 0.75 and by["faces"]["eve_match_rate"] == 0.25
    red = s["leakage_reduction"]["faces|none|awgn|bob10|eve10"]
    assert red["leakage_reduction"] == pytest.approx(1 - 0.25 / 0.75, abs=1e-4)
    # paired per photo against the unguarded run on the same pixels: (+0.2 + 0 + 0 + 0) / 4
    assert red["bob_nonprivate_psnr_change_db"] == pytest.approx(0.05, abs=1e-4)


def test_eval_cli_end_to_end_and_resume(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    out = tmp_path / "ev"
    argv = [
        "eval",
        "--faces",
        str(faces_dir),
        "--preset",
        str(fast_preset),
        "--out",
        str(out),
        "--policy",
        "faces",
        "--snr",
        "20",
        "--eve-snr",
        "20",
        "--eve-snr",
        "0",
    ]
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    for name in (
        "rows.csv",
        "summary.json",
        "report.md",
        "leakage_vs_eve_snr.png",
        "bob_quality_vs_snr.png",
        "privacy_utility.png",
    ):
        assert (out / name).exists(), name
    rows = list(csv.DictReader((out / "rows.csv").open()))
    assert len(rows) == 4 * 2 * 2  # photos x policies (none always added) x Eve SNRs
    assert {r["policy"] for r in rows} == {"none", "faces"}
    s = json.loads((out / "summary.json").read_text())
    keys = {
        "policy",
        "scheme",
        "channel",
        "bob_snr_db",
        "eve_snr_db",
        "eve_match_rate",
        "eve_reid_top1",
        "eve_similarity_mean",
        "bob_psnr_db",
        "bob_ssim",
        "bob_psnr_nonprivate_db",
        "bob_category_ok",
        "eve_category_ok",
        "n",
    }
    assert all(keys <= set(c) for c in s["by_config"])
    assert "faces|none|awgn|bob20|eve20" in s["leakage_reduction"]
    assert s["meta"]["threshold"] == pytest.approx(0.363)  # the matcher instance's, not a class default
    # the 'none' policy never masks anything
    assert all(float(r["private_fraction"]) == 0 for r in rows if r["policy"] == "none")
    # the unguarded reference is measured on each row's own non-private pixels
    assert all(r["bob_psnr_nonprivate_none_db"] == r["bob_psnr_nonprivate_db"] for r in rows if r["policy"] == "none")
    assert all(float(r["bob_psnr_nonprivate_none_db"]) > 0 for r in rows if r["policy"] == "faces")
    # resumable: a second run computes nothing new and keeps the rows
    mtime = (out / "rows.csv").stat().st_mtime_ns
    first = json.loads((out / "summary.json").read_text())["meta"]
    res2 = runner.invoke(app, argv)
    assert res2.exit_code == 0 and (out / "rows.csv").stat().st_mtime_ns == mtime
    again = json.loads((out / "summary.json").read_text())["meta"]
    assert again["new_rows"] == first["new_rows"] == 16 and again["seconds"] == first["seconds"]
    assert len(list(csv.DictReader((out / "rows.csv").open()))) == 16
    # an interrupted run (rows lost) is completed
    lines = (out / "rows.csv").read_text().splitlines()
    (out / "rows.csv").write_text("\n".join(lines[:5]) + "\n" + lines[5][:20])  # killed mid-row
    res3 = runner.invoke(app, argv)
    assert res3.exit_code == 0
    again = list(csv.DictReader((out / "rows.csv").open()))
    assert len(again) == 16 and len({(r["image"], r["policy"], r["eve_snr_db"]) for r in again}) == 16


def test_eval_bad_policy_is_one_line(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    res = runner.invoke(
        app,
        [
            "eval",
            "--faces",
            str(faces_dir),
            "--preset",
            str(fast_preset),
            "--policy",
            "nope",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2 and "unknown policy 'nope'" in res.stderr
    assert not (tmp_path / "o").exists()


def test_labels_load_match_and_cover(tmp_path: Path):
    from vlm_privsc.evaluation.labels import boxes_for, load_labels
    from vlm_privsc.measure import covered

    f = tmp_path / "boxes.csv"
    f.write_text("file,x0,y0,x1,y1\na/1.png,0,0,10,10\n1.png,5,5,20,20\n")
    lab = load_labels(f)
    assert boxes_for(lab, "a/1.png") == [(0.0, 0.0, 10.0, 10.0)]
    assert boxes_for(lab, "b/1.png") == [(5.0, 5.0, 20.0, 20.0)]  # falls back on the file name
    assert boxes_for(lab, "b/2.png") is None  # not labelled: unknown, not "no faces"
    mask = np.zeros((20, 20), bool)
    mask[0:5, 0:5] = True  # the first box, at half scale, is fully under the mask
    assert covered(mask, [(0, 0, 10, 10), (10, 10, 40, 40)], scale=(0.5, 0.5)) == [True, False]
    mask[0:5, 0:4] = False  # 20% left: under the 90% criterion
    assert covered(mask, [(0, 0, 10, 10)], scale=(0.5, 0.5)) == [False]
    for text, msg in (
        ("name,a\nx,1\n", "need a file column"),
        ("file,x0,y0,x1,y1\na,1,2,x,4\n", "line 2: x0,y0"),
        ("file,x0,y0,x1,y1\na,1,2,3,4\nb,5,5,5,9\n", "line 3: empty box"),
    ):
        f.write_text(text)
        with pytest.raises(InputError, match=msg):
            load_labels(f)


def test_eval_cli_label_recall(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    labels = tmp_path / "boxes.csv"
    # astro/1.png: one box inside the fake face ellipse, one far from it; grace photos match on "1.png"
    labels.write_text("file,x0,y0,x1,y1\nastro/1.png,50,55,70,75\nastro/1.png,100,100,130,130\n1.png,50,55,70,75\n")
    out = tmp_path / "ev"
    argv = [
        "eval",
        "--faces",
        str(faces_dir),
        "--preset",
        str(fast_preset),
        "--out",
        str(out),
        "--policy",
        "faces",
        "--snr",
        "20",
        "--labels",
        str(labels),
    ]
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    rows = {(r["image"], r["policy"]): r for r in csv.DictReader((out / "rows.csv").open())}
    assert (rows[("astro/1.png", "faces")]["n_labels"], rows[("astro/1.png", "faces")]["labels_covered"]) == ("2", "1")
    assert (rows[("grace/1.png", "faces")]["n_labels"], rows[("grace/1.png", "faces")]["labels_covered"]) == ("1", "1")
    assert rows[("astro/2.png", "faces")]["n_labels"] == ""
    assert rows[("astro/1.png", "none")]["labels_covered"] == "0"
    s = {c["policy"]: c for c in json.loads((out / "summary.json").read_text())["by_config"]}
    assert s["faces"]["guard_label_recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["none"]["guard_label_recall"] == 0.0
    assert "label recall" in (out / "report.md").read_text()
    other = tmp_path / "other.csv"
    other.write_text("file,x0,y0,x1,y1\nnobody.png,1,1,5,5\n")
    res = runner.invoke(app, [*argv[:-1], str(other)])
    assert res.exit_code == 2 and "name none of the 4 photos" in res.stderr


def test_eval_resumes_rows_written_by_an_older_version(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    out = tmp_path / "ev"
    argv = [
        "eval",
        "--faces",
        str(faces_dir),
        "--preset",
        str(fast_preset),
        "--out",
        str(out),
        "--snr",
        "20",
        "--limit",
        "2",
    ]
    assert runner.invoke(app, argv).exit_code == 0
    rows = list(csv.DictReader((out / "rows.csv").open()))
    old_cols = [c for c in rows[0] if c not in ("n_labels", "labels_covered")]
    with (out / "rows.csv").open("w", newline="") as f:  # as the previous version wrote it, one row lost
        w = csv.DictWriter(f, fieldnames=old_cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows[:-1])
    res = runner.invoke(app, argv[:-2] + ["--limit", "4"])
    assert res.exit_code == 0, res.output
    again = list(csv.DictReader((out / "rows.csv").open()))
    assert len(again) == 8 and list(again[0]) == list(rows[0])


def test_eval_rejects_a_scheme_that_cannot_run_before_any_work(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    res = runner.invoke(
        app,
        [
            "eval",
            "--faces",
            str(faces_dir),
            "--preset",
            str(fast_preset),
            "--scheme",
            "perturbation",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2 and "needs a surrogate eavesdropper model" in res.stderr
    assert "Traceback" not in res.output and not (tmp_path / "o").exists()


def test_eval_suite_runs_each_named_run(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""
data: {faces_dir.parent}
out: {tmp_path / "results"}
runs:
  awgn:
    faces: "{{data}}/faces"
    preset: {fast_preset}
    policy: [faces]
    snr: [20]
    limit: 2
  fading:
    faces: "{{data}}/faces"
    preset: {fast_preset}
    channel: rayleigh
    snr: [20]
    eve_snr: [0, 20]
    limit: 2
  plain_code:
    faces: "{{data}}/faces"
    preset: {fast_preset}
    overrides: {{jscc: {{mask_aware: false}}}}
    snr: [20]
    limit: 1
""")
    res = runner.invoke(app, ["eval", "--suite", str(suite), "--only", "plain_code"])
    assert res.exit_code == 0, res.output
    cfg = json.loads((tmp_path / "results" / "plain_code" / "config.json").read_text())
    assert cfg["pipeline"]["jscc"]["mask_aware"] is False
    res = runner.invoke(app, ["eval", "--suite", str(suite), "--only", "fading"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "results" / "awgn").exists()
    s = json.loads((tmp_path / "results" / "fading" / "summary.json").read_text())
    assert {c["channel"] for c in s["by_config"]} == {"rayleigh"}
    assert {c["eve_snr_db"] for c in s["by_config"]} == {0.0, 20.0}
    assert s["meta"]["command"] == f"vlmsc eval --suite {suite} --only fading"
    res = runner.invoke(app, ["eval", "--suite", str(suite)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "results" / "awgn" / "rows.csv").open()))
    assert len(rows) == 2 * 2  # photos x policies (none added)


def test_eval_suite_errors_are_one_line(faces_dir: Path, tmp_path: Path):
    suite = tmp_path / "suite.yaml"
    suite.write_text("runs:\n  a:\n    faces: x\n    snrr: [1]\n")
    res = runner.invoke(app, ["eval", "--suite", str(suite)])
    assert res.exit_code == 2 and f"{suite}:4: runs.a.snrr: unknown field" in res.stderr
    suite.write_text("runs:\n  a:\n    faces: x\n")
    res = runner.invoke(app, ["eval", "--suite", str(suite), "--only", "b"])
    assert res.exit_code == 2 and "unknown suite run 'b'; valid: a" in res.stderr
    for bad, msg in (
        ("{jsc: {mask_aware: false}}", "cannot override 'jsc': sections are"),
        ("{jscc: {mask_awre: false}}", "jscc.mask_awre"),
    ):
        suite.write_text(f"runs:\n  a:\n    faces: {faces_dir}\n    overrides: {bad}\n")
        res = runner.invoke(app, ["eval", "--suite", str(suite)])
        assert res.exit_code == 2 and msg in res.stderr and "Traceback" not in res.output, res.output
    suite.write_text("runs:\n  a:\n    faces: x\n")
    res = runner.invoke(app, ["eval", "--suite", str(suite), "--faces", str(faces_dir)])
    assert res.exit_code == 2 and "give one or the other" in res.stderr
    res = runner.invoke(app, ["eval"])
    assert res.exit_code == 2 and "give --faces" in res.stderr
    suite.write_text(f"runs:\n  a:\n    faces: {faces_dir}\n  b:\n    faces: {faces_dir}\n    policy: [nope]\n")
    res = runner.invoke(app, ["eval", "--suite", str(suite)])  # run b is checked before run a starts
    assert res.exit_code == 2 and "suite run 'b': unknown policy 'nope'" in res.stderr
    assert not (Path("out/eval") / "a" / "rows.csv").exists()
    res = runner.invoke(app, ["eval", "--suite", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "evaluation suite" in res.stderr and "not found" in res.stderr


def test_committed_suite_is_valid():
    from vlm_privsc.evaluation.suite import load_suite

    root = Path(__file__).resolve().parents[2]
    s = load_suite(root / "eval" / "suites" / "leakage.yaml")
    assert {"faces_deepface", "faces_orl", "deepface_rayleigh", "deepface_schemes"} <= set(s.runs)
    assert all((root / r.labels).is_file() for r in s.runs.values() if r.labels)


def test_resume_refuses_rows_of_another_configuration(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    out = tmp_path / "ev"
    argv = [
        "eval",
        "--faces",
        str(faces_dir),
        "--preset",
        str(fast_preset),
        "--out",
        str(out),
        "--snr",
        "20",
        "--limit",
        "2",
    ]
    assert runner.invoke(app, argv).exit_code == 0
    assert json.loads((out / "config.json").read_text())["jscc_weights_sha256"] != "missing"
    res = runner.invoke(app, [*argv, "--max-side", "64"])  # another transmitted size: other rows
    assert (
        res.exit_code == 2
        and "holds rows of another configuration (pipeline.jscc.max_side: 128 then, 64 now)" in res.stderr
    )
    assert runner.invoke(app, [*argv, "--snr", "10"]).exit_code == 0  # a larger grid of the same configuration


def test_eval_key_option(faces_dir: Path, fast_preset: Path, tmp_path: Path):
    """A bad key file is one line before anything runs; a good one keys every worker and is
    neither written anywhere nor left in the environment."""
    import os

    from vlm_privsc.keys import KEY_ENV, SharedKey, write_key

    res = runner.invoke(
        app,
        [
            "eval",
            "--faces",
            str(faces_dir),
            "--preset",
            str(fast_preset),
            "--key",
            str(tmp_path / "none.key"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "not found" in lines[0] and not (tmp_path / "o").exists()
    k = SharedKey.generate()
    kf = write_key(k, tmp_path / "bob.key")
    before = os.environ.get(KEY_ENV)
    out = tmp_path / "ok"
    res = runner.invoke(
        app,
        [
            "eval",
            "--faces",
            str(faces_dir),
            "--preset",
            str(fast_preset),
            "--key",
            str(kf),
            "--limit",
            "2",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert os.environ.get(KEY_ENV) == before
    for f in out.rglob("*"):
        if f.is_file():
            assert k.secret.hex().encode() not in f.read_bytes()
