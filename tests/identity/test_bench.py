"""The identity benchmark (vlm_privsc.evaluation.bench.identity) end to end on a tiny data folder built from packaged photos."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.identity.conftest import jpeg, noisy
from vlm_privsc.evaluation.bench import identity as bench


def _grey_crop(img: np.ndarray, box: tuple[int, int, int, int], shift: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    crop = img[y0 + shift : y1 + shift, x0 + shift : x1 + shift]
    return cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (92, 112), interpolation=cv2.INTER_AREA)


@pytest.fixture
def data_dir(tmp_path: Path, astronaut: np.ndarray, grace_hopper: np.ndarray) -> Path:
    df = tmp_path / "faces_deepface"
    df.mkdir()
    imgs = {
        "a.jpg": astronaut,
        "a2.jpg": noisy(jpeg(astronaut, 40), 6),
        "g.jpg": grace_hopper,
        "g2.jpg": noisy(jpeg(grace_hopper, 40), 6, seed=1),
    }
    for name, im in imgs.items():
        Image.fromarray(im).save(df / name, quality=95)
    with open(df / "master.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file_x", "file_y", "Decision"])
        w.writerows(
            [
                ["a.jpg", "a2.jpg", "Yes"],
                ["g.jpg", "g2.jpg", "Yes"],
                ["a.jpg", "g.jpg", "No"],
                ["a2.jpg", "g2.jpg", "No"],
                ["a.jpg", "g2.jpg", "No"],
            ]
        )
    with open(df / "identity_clusters.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "cluster_id"])
        w.writerows([["a.jpg", 0], ["a2.jpg", 0], ["g.jpg", 1], ["g2.jpg", 1]])
    orl = tmp_path / "faces_orl"
    for subj, (img, box) in {"s1": (astronaut, (145, 30, 300, 220)), "s2": (grace_hopper, (150, 90, 345, 330))}.items():
        (orl / subj).mkdir(parents=True)
        for k, shift in enumerate((0, 4, -4), start=1):
            Image.fromarray(_grey_crop(img, box, shift)).save(orl / subj / f"{k}.pgm")
    return tmp_path


def test_bench_runs_and_writes_json(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "res.json"
    rc = bench.main(["--data", str(data_dir), "--quick", "--backends", "sface", "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    ver = res["verification"]
    assert set(ver) == {"faces_deepface", "faces_deepface_clusters", "faces_orl"}
    r = ver["faces_deepface"]["sface"]
    assert r["n_pairs"] == 5 and r["n_same"] == 2 and r["images_without_face"] == 0
    assert r["auc"] == 1.0 and r["accuracy_at_threshold"] == 1.0 and r["threshold"] == pytest.approx(0.363)
    assert ver["faces_orl"]["sface"]["n_same"] == 6  # 2 subjects x C(3,2)
    assert ver["faces_orl"]["sface"]["n_different"] == 6  # as many seeded different pairs
    lc = res["leak_controls"]["faces_deepface"]["sface"]
    assert lc["n_originals"] == 3  # --quick
    assert lc["jpeg_q30"]["share_same_identity"] == 1.0 and lc["grey"]["share_same_identity"] == 0.0
    assert res["leak_controls"]["faces_orl"]["sface"]["n_originals"] == 2  # one per subject
    assert "detect_s_per_image" in res["timing"]["sface"]["faces_orl"]


def test_metrics_helpers() -> None:
    scores = np.array([0.9, 0.8, 0.3, 0.2])
    labels = np.array([True, False, True, False])
    assert bench.roc_auc(scores, labels) == pytest.approx(0.75)
    acc, thr = bench.best_threshold_accuracy(scores, labels)
    assert acc == pytest.approx(0.75) and thr == pytest.approx(0.9)
    m = bench.at_threshold(scores, labels, 0.5)
    assert m == {"accuracy": 0.5, "tpr": 0.5, "far": 0.5}


def test_missing_data_is_exit_code_2(tmp_path: Path) -> None:
    assert bench.main(["--data", str(tmp_path), "--backends", "sface"]) == 2
