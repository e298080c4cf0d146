"""The guard benchmark (vlm_privsc.evaluation.bench.guard) end to end on a tiny synthetic data folder (no shared data)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from tests.guard.test_detectors import plate_image
from vlm_privsc.evaluation.bench import guard as guard_bench


def test_bench_guard_quick(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "faces_deepface").mkdir(parents=True)
    cv2.imwrite(str(root / "faces_deepface" / "astro.jpg"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "faces_deepface_boxes.csv").write_text("file,x0,y0,x1,y1\nastro.jpg,178,63,268,176\n")
    (root / "plates_us").mkdir()
    cv2.imwrite(str(root / "plates_us" / "car.png"), cv2.cvtColor(plate_image(), cv2.COLOR_RGB2BGR))
    (root / "plates_us" / "car.txt").write_text("car.png\t240\t200\t160\t80\t7ABC12\n")
    (root / "text_images").mkdir()
    page = np.stack([data.page()] * 3, axis=-1)
    cv2.imwrite(str(root / "text_images" / "page.png"), page)

    out = tmp_path / "r.json"
    bench = guard_bench
    rc = bench.main(
        ["--data", str(root), "--annotations", str(ann), "--sets", "faces,plates,text", "--quick", "--json", str(out)]
    )
    assert rc == 0
    res = json.loads(out.read_text())

    faces = {r["config"]: r for r in res["faces"]["rows"]}
    assert res["faces"]["labelled"] == 1
    default = next(r for c, r in faces.items() if c.startswith("default"))
    assert default["recall"] == 1.0 and default["false_regions"] == 0
    assert faces["yunet@0.5"]["recall"] == 1.0

    plates = {r["config"]: r for r in res["plates"]["rows"]}
    assert plates["plate_text@0.5"]["recall"] == 1.0
    assert 0 < plates["plate_text@0.5"]["mask_area"] < 0.2

    text = res["text"]["rows"]
    assert text[0]["read_before"] > 5  # the page is readable before masking
    for row in text:
        assert row["read_after"] <= row["read_before"]
    assert min(r["leakage"] for r in text) < 0.5
