"""The generative receiver's benchmark (scripts/eval_generation.py) end to end on one packaged photo."""

from __future__ import annotations

import csv
import json

import numpy as np
from PIL import Image

from vlm_privsc.evaluation.bench import generation


def test_eval_generation_with_the_attribute_ablation(tmp_path):
    from skimage import data

    photos = tmp_path / "photos" / "astronaut"
    photos.mkdir(parents=True)
    Image.fromarray(np.asarray(data.astronaut())).resize((256, 256)).save(photos / "a.png")
    out = tmp_path / "out"
    argv = ["--faces", str(tmp_path / "photos"), "--snrs", "10", "--threads", "1", "--attribute-ablation"]
    assert generation.main([*argv, "--out", str(out)]) == 0
    with (out / "rows.csv").open() as f:
        rows = list(csv.DictReader(f))
    variants = [r["variant"] for r in rows]
    assert variants[:5] == ["bob", "bob_noattr", "bob_notext", "eve", "unguarded"]
    attrs = [v.removeprefix("bob_only_") for v in variants if v.startswith("bob_only_")]
    assert attrs and all(f"bob_without_{a}" in variants for a in attrs)
    assert all(int(r["n_faces_removed"]) == 1 for r in rows)
    # the unguarded photo shows the face to the matcher; the restorations are measured beside it
    by = {r["variant"]: r for r in rows}
    assert by["unguarded"]["identity_match"] == "True"
    assert float(by["bob"]["psnr_mask"]) > 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["by_snr"]) == {"10.0"} and summary["photos"] == 1
    assert "bob_without_" in (out / "results.md").read_text()
