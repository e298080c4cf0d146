"""The default privacy database and offline detectors on real packaged photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from vlm_privsc.cli import app
from vlm_privsc.db import load_db
from vlm_privsc.guard import PrivacyGuard
from vlm_privsc.io import to_tensor

# Eileen Collins' face in skimage's astronaut (512x512), checked by eye on overlay.png:
# forehead/hairline at y~65, chin at y~170, cheeks at x~185-265.
ASTRONAUT_FACE = (185, 65, 265, 170)


def _iou(a, b) -> float:
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_default_guard_finds_the_astronauts_face_where_it_is(astronaut: np.ndarray):
    res = PrivacyGuard(load_db(), "faces").run(to_tensor(astronaut))
    faces = [r for r in res.regions if r.category == "face"]
    assert len(faces) == 1, [r.box for r in res.regions]
    assert _iou(faces[0].box, ASTRONAUT_FACE) > 0.5, faces[0].box
    m = res.mask[0, 0]
    x0, y0, x1, y1 = ASTRONAUT_FACE
    assert float(m[y0:y1, x0:x1].float().mean()) > 0.9  # the face is covered
    assert float(m.float().mean()) < 0.15  # and not much else
    # nothing of the face is transmitted: its pixels are the public mean colour
    face_px = res.masked[0, :, (y0 + y1) // 2, (x0 + x1) // 2]
    assert float((face_px - res.masked[0, :, m].mean(dim=1)).abs().max()) < 1e-6


def test_large_photo_is_detected_downscaled_and_masked_at_full_size(astronaut: np.ndarray):
    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048), Image.BICUBIC))
    res = PrivacyGuard(load_db(), "faces", detect_max_side=512).run(to_tensor(big))
    assert res.detect_size == (512, 512)
    faces = [r for r in res.regions if r.category == "face"]
    assert len(faces) == 1
    scaled = tuple(4 * v for v in ASTRONAUT_FACE)
    assert _iou(faces[0].box, scaled) > 0.5
    assert res.mask.shape[-2:] == (2048, 2048)


def test_blank_photo_has_nothing_private():
    res = PrivacyGuard(load_db(), "all").run(to_tensor(np.full((256, 256, 3), 128, np.uint8)))
    assert res.regions == () and not res.mask.any()


def test_cli_guard_on_the_packaged_astronaut(tmp_path: Path):
    out = tmp_path / "g"
    res = CliRunner().invoke(app, ["guard", "--image", "skimage:astronaut", "--policy", "faces", "--out", str(out)])
    assert res.exit_code == 0, res.output
    regions = json.loads((out / "regions.json").read_text())["regions"]
    assert [r["category"] for r in regions] == ["face"]
    assert _iou(regions[0]["box"], ASTRONAUT_FACE) > 0.5
    mask = np.asarray(Image.open(out / "mask.png"))
    assert mask[117, 225] == 255 and mask[400, 100] == 0
    overlay = np.asarray(Image.open(out / "overlay.png"))
    assert overlay.shape == (512, 512, 3)


def test_tiny_photo_is_upscaled_for_detection():
    """8x8 is the smallest accepted photo; detectors that cannot take it must not crash."""
    tiny = np.random.default_rng(0).integers(0, 255, (8, 12, 3), dtype=np.uint8)
    res = PrivacyGuard(load_db(), "all").run(to_tensor(tiny))
    assert min(res.detect_size) == 32
    assert res.mask.shape[-2:] == (8, 12)
