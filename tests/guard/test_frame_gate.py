"""The frame gate (issue 17, session 9): a plate's characters run between the plate's edges,
digits on a sail do not; its YAML params, errors and its place in the guard."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import tests.guard.fakes  # noqa: F401  (registers fixed_boxes)
from vlm_privsc.db import load_db
from vlm_privsc.errors import ConfigError
from vlm_privsc.guard import PrivacyGuard
from vlm_privsc.guard.detectors import text as text_mod
from vlm_privsc.guard.frame import char_extent, frame_cover, plate_evidence, rectify

LINE = (50, 50, 150, 80)
"""The candidate line box (x0, y0, x1, y1) in every test photo."""


def _quad(box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def _chars(img: np.ndarray) -> np.ndarray:
    cv2.putText(img, "AB123", (56, 74), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 20), 2, cv2.LINE_AA)
    return img


def plate_photo() -> np.ndarray:
    """Grey car, white plate with a dark rim, dark characters."""
    img = np.full((130, 200, 3), 110, np.uint8)
    cv2.rectangle(img, (38, 38), (162, 92), (40, 40, 40), 2)
    img[40:91, 40:161] = 235
    return _chars(img)


def sail_photo() -> np.ndarray:
    """The same characters on a white surface that goes on around them, a seam across it."""
    img = np.full((130, 200, 3), 235, np.uint8)
    cv2.line(img, (0, 130), (200, 0), (150, 150, 160), 2)
    return _chars(img)


def test_frame_cover_plate_versus_sail():
    assert frame_cover(plate_photo(), _quad(LINE)) >= 0.9
    assert frame_cover(sail_photo(), _quad(LINE)) < 0.2


def test_frame_cover_needs_both_sides_and_characters():
    one_side = sail_photo()
    one_side[40:42, 30:170] = 60  # a stripe above, nothing below
    assert frame_cover(one_side, _quad(LINE)) < 0.2
    blank = np.full((130, 200, 3), 235, np.uint8)
    cv2.rectangle(blank, (38, 38), (162, 92), (40, 40, 40), 2)
    assert frame_cover(blank, _quad(LINE)) == 0.0  # a blank plate holds no characters
    assert frame_cover(plate_photo(), _quad((50, 50, 51, 80))) == 0.0  # degenerate line
    # the frame is searched only within `reach` character heights
    assert frame_cover(plate_photo(), _quad(LINE), reach=0.3) < 0.5


def tight_plate_photo() -> np.ndarray:
    """A white plate that ends a pixel or two beyond its characters, on a dark car: its edge
    is too near them to count as a frame, but its background ends there."""
    img = np.full((130, 200, 3), 70, np.uint8)
    img[55:77, 52:149] = 235
    return _chars(img)


def test_plate_evidence_edges_and_leak():
    q = _quad(LINE)
    cover, leak = plate_evidence(plate_photo(), q)
    assert cover >= 0.9 and leak < 0.02  # framed, and its white ends at the rim
    cover, leak = plate_evidence(sail_photo(), q)
    assert cover < 0.2 and leak > 0.5  # the sail's white goes on beyond the digits
    cover, leak = plate_evidence(tight_plate_photo(), q)
    assert cover < 0.2 and leak < 0.02
    assert plate_evidence(np.full((130, 200, 3), 235, np.uint8), q) == (0.0, 1.0)  # no characters


def test_char_extent_finds_the_characters_not_the_rim():
    grey = cv2.cvtColor(plate_photo(), cv2.COLOR_RGB2GRAY)
    found = char_extent(grey[36:94, 50:150])  # the line crop reaches past the plate's rim
    assert found is not None
    chars, (r0, r1, c0, c1) = found
    assert 18 <= r0 <= 23 and 36 <= r1 <= 40 and c0 >= 4 and c1 <= 90  # rows 56..75 of the photo
    assert char_extent(np.full((20, 60), 128, np.uint8)) is None


def test_frame_cover_of_a_tilted_plate():
    img = plate_photo()
    rot = cv2.getRotationMatrix2D((100, 65), 12, 1.0)
    tilted = cv2.warpAffine(img, rot, (200, 130), borderValue=(110, 110, 110))
    quad = cv2.transform(_quad(LINE)[None].astype(np.float32), rot)[0]
    assert frame_cover(tilted, quad) >= 0.7
    crop, valid, (x0, y0, x1, y1) = rectify(tilted, quad, 1.0)
    assert crop.shape[:2] == valid.shape and x1 > x0 and y1 > y0


DB = """
extends: none
categories:
  license_plate:
    description: plates
    prompts: [a plate]
    inpaint_prompt: a blank plate
    mask: {shape: box, dilate: 0.0}
    detectors:
      - name: fixed_boxes
        params: {boxes: [[50, 50, 150, 80, 0.9]]}
%s
policies:
  plates: {categories: [license_plate]}
"""


def _db(tmp_path: Path, confirm: str):
    f = tmp_path / "db.yaml"
    f.write_text(DB % confirm)
    return load_db(f)


def _tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255


def test_guard_frame_gate_drops_the_sail_keeps_the_plate(tmp_path):
    db = _db(tmp_path, "    confirm: {frame: {min_cover: 0.6}}")
    res = PrivacyGuard(db, "plates").run(_tensor(plate_photo()))
    assert [r.box for r in res.regions] == [LINE] and res.gated == {"license_plate": 0}
    res = PrivacyGuard(db, "plates").run(_tensor(sail_photo()))
    assert res.regions == () and res.gated == {"license_plate": 1} and "frame" in res.timings
    # off unless set: the sail is a region without the gate
    ungated = _db(tmp_path, "    confirm: {shape: {min_aspect: 1.0}}")
    assert len(PrivacyGuard(ungated, "plates").run(_tensor(sail_photo())).regions) == 1


def test_guard_frame_gate_leak_lets_a_tight_plate_pass(tmp_path):
    edges_only = _db(tmp_path, "    confirm: {frame: {min_cover: 0.6}}")
    assert PrivacyGuard(edges_only, "plates").run(_tensor(tight_plate_photo())).regions == ()
    either = _db(tmp_path, "    confirm: {frame: {min_cover: 0.6, max_leak: 0.02}}")
    assert [r.box for r in PrivacyGuard(either, "plates").run(_tensor(tight_plate_photo())).regions] == [LINE]
    assert PrivacyGuard(either, "plates").run(_tensor(sail_photo())).regions == ()


@pytest.mark.parametrize(("read", "kept"), [("12345", False), ("AB 123", True), ("", False)])
def test_guard_frame_gate_digits_only_asks_digit_lines(tmp_path, monkeypatch, read, kept):
    calls: list[int] = []

    def fake(image, quads, engine=None):
        calls.append(len(quads))
        return [(read, 0.99) for _ in quads]

    monkeypatch.setattr(text_mod, "read_quads", fake)
    # no read gate: the frame gate reads the line itself
    db = _db(tmp_path, "    confirm: {frame: {min_cover: 0.6, max_leak: 0.02, digits_only: true}}")
    res = PrivacyGuard(db, "plates").run(_tensor(sail_photo()))
    assert (len(res.regions) == 1) is kept and calls == [1]
    # with a read gate the line is read once, and a framed digit line passes
    calls.clear()
    both = _db(tmp_path, "    confirm: {read: {min_chars: 0}, frame: {min_cover: 0.6, digits_only: true}}")
    assert len(PrivacyGuard(both, "plates").run(_tensor(plate_photo())).regions) == 1 and calls == [1]


@pytest.mark.parametrize(
    ("confirm", "match"),
    [
        ("    confirm: {frame: {min_cover: 0}}", r"db.yaml:\d+: categories.license_plate.confirm.frame.min_cover: "),
        ("    confirm: {frame: {min_cover: 1.5}}", r"confirm.frame.min_cover: .*less than or equal to 1"),
        ("    confirm: {frame: {reach: 9}}", r"confirm.frame.reach: .*less than or equal to 5"),
        ("    confirm: {frame: {reach: 0.1}}", r"confirm.frame.reach: .*greater than or equal to 0.3"),
        ("    confirm: {frame: {cover: 0.5}}", r"confirm.frame.cover: unknown field"),
        ("    confirm: {frame: {max_leak: 1.0}}", r"confirm.frame.max_leak: .*less than 1"),
        ("    confirm: {frame: {max_leak: -0.1}}", r"confirm.frame.max_leak: .*greater than or equal to 0"),
        ("    confirm: {frame: {digits_only: maybe}}", r"confirm.frame.digits_only: .*bool"),
    ],
)
def test_frame_gate_yaml_errors(tmp_path, confirm, match):
    with pytest.raises(ConfigError, match=match):
        _db(tmp_path, confirm)


def test_default_db_frames_plates_only():
    db = load_db()
    frame = db.categories["license_plate"].confirm.frame
    assert frame.min_cover == pytest.approx(0.6) and frame.max_leak == pytest.approx(0.02) and frame.digits_only
    assert all(c.confirm is None or c.confirm.frame is None for n, c in db.categories.items() if n != "license_plate")
