"""The guard's confirm gates (issue 17): read, shape, confirmation by another detector; their
YAML params and error lines; and the cross-category merge (one region per object)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import tests.guard.fakes  # noqa: F401  (registers fixed_boxes)
from vlm_privsc.db import load_db
from vlm_privsc.errors import ConfigError
from vlm_privsc.guard import PrivacyGuard
from vlm_privsc.guard import guard as guard_mod
from vlm_privsc.guard.detectors import text as text_mod
from vlm_privsc.guard.detectors.base import Detection
from vlm_privsc.guard.guard import Region, merge_across_categories, overlap, quad_aspect

BASE = """
extends: none
categories:
  sign:
    description: signs
    prompts: [a sign]
    inpaint_prompt: a wall
    mask: {shape: box, dilate: 0.0}
    detectors:
      - name: fixed_boxes
        params: {boxes: [[10, 10, 70, 30, 0.9], [10, 60, 70, 80, 0.9], [100, 10, 110, 90, 0.9]]}
%s
  face:
    description: faces
    prompts: [a face]
    inpaint_prompt: a face
    mask: {shape: box, dilate: 0.0}
    detectors:
      - name: fixed_boxes
        params: {boxes: [[20, 62, 30, 78, 0.9]]}
policies:
  signs: {categories: [sign]}
  all: {categories: "*"}
%s
"""


def _db(tmp_path: Path, confirm: str = "", tail: str = ""):
    f = tmp_path / "db.yaml"
    f.write_text(BASE % (confirm, tail))
    return load_db(f)


def _photo() -> torch.Tensor:
    return torch.rand(1, 3, 100, 160, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def fake_reads(monkeypatch):
    """read_quads replaced: the line whose top-left corner is (10, 10) reads 'AB12 CD'
    confidently, the one at y=60 reads '~' (fur), every other one 'XYZ' at 0.4."""
    seen: list[int] = []

    def fake(image, quads, engine=None):
        out = []
        for q in quads:
            x, y = round(float(np.asarray(q)[:, 0].min())), round(float(np.asarray(q)[:, 1].min()))
            seen.append(y)
            out.append(("AB12 CD", 0.95) if (x, y) == (10, 10) else ("~", 0.9) if y == 60 else ("XYZ", 0.4))
        return out

    monkeypatch.setattr(text_mod, "read_quads", fake)
    return seen


def test_read_gate_keeps_lines_read_with_confidence(tmp_path, fake_reads):
    db = _db(tmp_path, "    confirm: {read: {min_score: 0.7, min_chars: 2}}")
    res = PrivacyGuard(db, "signs").run(_photo())
    assert [r.box for r in res.regions] == [(10, 10, 70, 30)]
    assert res.gated == {"sign": 2} and sorted(fake_reads) == [10, 10, 60]
    # no gate: all three
    assert len(PrivacyGuard(_db(tmp_path), "signs").run(_photo()).regions) == 3


def test_read_gate_digits_and_max_chars(tmp_path, fake_reads):
    db = _db(tmp_path, "    confirm: {read: {min_score: 0.0, min_chars: 1, min_digits: 3}}")
    assert PrivacyGuard(db, "signs").run(_photo()).regions == ()
    db = _db(tmp_path, "    confirm: {read: {min_score: 0.0, min_chars: 3, max_chars: 3}}")
    assert [r.box for r in PrivacyGuard(db, "signs").run(_photo()).regions] == [(100, 10, 110, 90)]


def test_shape_gate(tmp_path):
    db = _db(tmp_path, "    confirm: {shape: {min_aspect: 2.0, max_aspect: 4.0}}")
    res = PrivacyGuard(db, "signs").run(_photo())
    assert sorted(r.box for r in res.regions) == [(10, 10, 70, 30), (10, 60, 70, 80)]  # 3:1 kept, 1:8 not
    assert quad_aspect(np.array([[0, 0], [30, 0], [30, 10], [0, 10]])) == pytest.approx(3.0)


def test_confirmed_by_another_category(tmp_path):
    db = _db(tmp_path, "    confirm: {by_categories: [face], min_overlap: 0.5}")
    res = PrivacyGuard(db, "signs").run(_photo())
    # only the sign that holds the face is confirmed
    assert [r.box for r in res.regions] == [(10, 60, 70, 80)] and res.gated == {"sign": 2}


def test_confirmed_by_detector_never_by_itself(tmp_path):
    db = _db(tmp_path, "    confirm: {by: [{name: fixed_boxes, params: {boxes: [[95, 5, 115, 95, 0.9]]}}]}")
    assert [r.box for r in PrivacyGuard(db, "signs").run(_photo()).regions] == [(100, 10, 110, 90)]
    # the category's own detector as the confirmer: each box would confirm only itself
    own = "    confirm: {by: [{name: fixed_boxes, params: {boxes: [[10, 10, 70, 30, 0.9], [10, 60, 70, 80, 0.9], [100, 10, 110, 90, 0.9]]}}]}"
    assert PrivacyGuard(_db(tmp_path, own), "signs").run(_photo()).regions == ()


def test_overlap_of_mask_and_box():
    m = np.zeros((50, 50), bool)
    m[10:30, 10:30] = True
    seg = Detection((10, 10, 30, 30), 0.9, "seg", mask=m)
    assert overlap(seg, Detection((15, 15, 25, 25), 0.9, "face")) == pytest.approx(1.0)
    assert overlap(seg, Detection((40, 40, 50, 50), 0.9, "face")) == 0.0
    assert overlap(Detection((0, 0, 10, 10), 1, "a"), Detection((5, 0, 15, 10), 1, "b")) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("confirm", "match"),
    [
        (
            "    confirm: {read: {min_score: 1.5}}",
            r"db.yaml:\d+: categories.sign.confirm.read.min_score: .*less than or equal to 1",
        ),
        (
            "    confirm: {read: {min_chars: 5, max_chars: 2}}",
            r"categories.sign.confirm.read: .*max_chars must be >= min_chars",
        ),
        ("    confirm: {shape: {min_aspect: 3, max_aspect: 2}}", r"confirm.shape: .*max_aspect must be >= min_aspect"),
        ("    confirm: {reed: {}}", r"db.yaml:\d+: categories.sign.confirm.reed: unknown field"),
        ("    confirm: {by_categories: [ghost]}", r"by_categories names unknown category 'ghost'"),
        ("    confirm: {by_categories: [sign]}", r"cannot confirm itself"),
        (
            "    confirm: {by: [{name: nope}]}",
            r"db.yaml:\d+: categories.sign.confirm.by.0.name: unknown detector 'nope'",
        ),
        (
            "    confirm: {by: [{name: fixed_boxes, params: {wrong: 1}}]}",
            r"categories.sign.confirm.by.0.params.wrong: unknown parameter",
        ),
    ],
)
def test_confirm_yaml_errors(tmp_path, confirm, match):
    with pytest.raises(ConfigError, match=match):
        _db(tmp_path, confirm)


def test_merge_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="merge.precedence names unknown category 'car'"):
        _db(tmp_path, tail="merge: {precedence: [car]}")
    with pytest.raises(ConfigError, match="names a category twice"):
        _db(tmp_path, tail="merge: {precedence: [face, face]}")
    with pytest.raises(ConfigError, match=r"merge.absorb"):
        _db(tmp_path, tail="merge: {absorb: 0}")


def _region(cat: str, box: tuple[int, int, int, int], h: int = 100, w: int = 160) -> Region:
    m = torch.zeros((h, w), dtype=torch.bool)
    m[box[1] : box[3], box[0] : box[2]] = True
    return Region(cat, box, 0.9, "fake", mask=m)


def test_merge_plate_absorbs_its_text_and_face_stays_in_person():
    plate, line = _region("license_plate", (10, 10, 70, 40)), _region("text", (15, 15, 65, 35))
    other_text = _region("text", (100, 50, 150, 60))
    person, face = _region("person", (0, 40, 90, 100)), _region("face", (20, 45, 40, 65))
    regions = [line, other_text, plate, person, face]
    union = torch.zeros((100, 160), dtype=torch.bool)
    for r in regions:
        union |= r.mask
    out = merge_across_categories(regions, ["face", "license_plate", "text", "person"], 0.5)
    cats = sorted(r.category for r in out)
    assert cats == ["face", "license_plate", "person", "text"]  # the plate's line joined the plate
    by = {r.category: r for r in out}
    assert by["license_plate"].merged == 2 and by["text"].box == (100, 50, 150, 60)
    assert by["face"].mask.sum() == 400 and not (by["person"].mask & by["face"].mask).any()
    assert by["person"].mask[80, 50]
    new_union = torch.zeros_like(union)
    for r in out:
        new_union |= r.mask
    assert torch.equal(new_union, union)  # nothing private is lost


def test_merge_under_policy_all(tmp_path):
    tail = "merge: {precedence: [face, sign]}"
    db = _db(tmp_path, tail=tail)
    res = PrivacyGuard(db, "all").run(_photo())
    face = [r for r in res.regions if r.category == "face"]
    sign = [r for r in res.regions if r.category == "sign" and r.box == (10, 60, 70, 80)]
    assert len(face) == 1 and len(sign) == 1 and not (face[0].mask & sign[0].mask).any()
    # the reversed precedence: the face (wholly inside the sign) joins the sign
    res = PrivacyGuard(_db(tmp_path, tail="merge: {precedence: [sign, face]}"), "all").run(_photo())
    assert not any(r.category == "face" for r in res.regions)
    assert res.mask.sum() == PrivacyGuard(db, "all").run(_photo()).mask.sum()


def test_default_db_gates():
    db = load_db()
    assert db.categories["text"].confirm.read.min_score >= 0.5
    plate = db.categories["license_plate"].confirm
    assert plate.read.min_chars >= 3 and plate.shape.max_aspect >= 5  # EU lines are ~4-5:1
    assert "face" in db.categories["person"].confirm.by_categories
    assert db.merge.precedence[0] == "face"


def test_crop_quad_and_count_chars():
    img = np.zeros((40, 80, 3), np.uint8)
    img[10:20, 10:50] = 255
    crop = text_mod.crop_quad(img, np.array([[10, 10], [50, 10], [50, 20], [10, 20]]))
    assert crop.shape == (10, 40, 3) and crop.mean() > 200
    tall = text_mod.crop_quad(img, np.array([[0, 0], [10, 0], [10, 30], [0, 30]]))
    assert tall.shape[1] > tall.shape[0]  # turned to read left to right
    assert text_mod.crop_quad(img, np.array([[0, 0], [1, 0], [1, 1], [0, 1]])) is None
    assert text_mod.count_chars("AB-12 ·x") == (5, 2)
    assert guard_mod.quad_aspect(text_mod.box_quad((0, 0, 40, 10))) == pytest.approx(4.0)
