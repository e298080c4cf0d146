"""The guard prevents the identity leak, on a real packaged photo with the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vlm_privsc.cli import app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    out = {}
    for policy in ("none", "faces"):
        d = tmp_path_factory.mktemp(policy)
        res = CliRunner().invoke(
            app,
            [
                "run",
                "--demo-key",
                "--image",
                "skimage:astronaut",
                "--policy",
                policy,
                "--snr",
                "20",
                "--eve-snr",
                "20",
                "--seed",
                "0",
                "--out",
                str(d),
            ],
        )
        assert res.exit_code == 0, res.output
        out[policy] = json.loads((d / "report.json").read_text())
        out[policy]["_dir"] = str(d)
    return out


def test_no_guard_leaks_identity_to_eve(runs):
    m = runs["none"]["metrics"]
    assert runs["none"]["regions"] == []
    assert m["identity_leak"] is True
    assert m["identity_similarity_eavesdropper"] >= m["identity_threshold"]


def test_faces_policy_stops_the_leak(runs):
    rep = runs["faces"]
    m = rep["metrics"]
    assert [r["category"] for r in rep["regions"]] == ["face"]
    assert m["identity_leak"] is False
    assert m["identity_similarity_eavesdropper"] < m["identity_threshold"]
    # Bob's restored face does not carry the identity either
    assert m["identity_leak_received"] is False
    # Bob recovered the category of the removed region from the keyed embedding
    assert m["bob_category_ok"] == 1.0
    assert rep["channel"]["semantic_symbols"] == 192  # 384-d MiniLM -> 192 complex symbols


def test_report_and_files_are_complete(runs):
    rep = runs["faces"]
    for k in ("regions", "db_digest", "channel", "metrics", "timings"):
        assert k in rep
    for k in ("type", "snr_db", "eve_snr_db", "bandwidth_ratio_total", "image_symbols", "semantic_symbols"):
        assert k in rep["channel"]
    names = sorted(p.name for p in Path(rep["_dir"]).iterdir())
    assert names == [
        "eavesdropper.png",
        "manifest.json",
        "mask.png",
        "masked.png",
        "panel.png",
        "received.png",
        "report.json",
    ]
    # the public part survives: Bob's PSNR outside the mask is far above the masked-face image
    assert rep["metrics"]["psnr_received_nonprivate"] > 20


def test_same_seed_same_report(runs, tmp_path: Path):
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--demo-key",
            "--image",
            "skimage:astronaut",
            "--policy",
            "faces",
            "--snr",
            "20",
            "--eve-snr",
            "20",
            "--seed",
            "0",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0
    again = json.loads((tmp_path / "report.json").read_text())
    assert again["metrics"] == runs["faces"]["metrics"]
