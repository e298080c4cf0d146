from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.guard.fakes import DB_YAML
from vlm_privsc.db import load_db
from vlm_privsc.errors import UnknownNameError
from vlm_privsc.guard import PrivacyGuard


@pytest.fixture
def db(tmp_path: Path):
    f = tmp_path / "db.yaml"
    f.write_text(DB_YAML)
    return load_db(f)


def _photo(h: int = 128, w: int = 160) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))


def test_guard_thresholds_merges_and_masks(db):
    res = PrivacyGuard(db, "faces").run(_photo())
    # the 0.3-score box is below threshold; the two overlapping boxes merge into one region
    assert len(res.regions) == 1
    r = res.regions[0]
    assert r.category == "face" and r.detector == "fixed_boxes" and r.merged == 2
    assert r.box == (40, 40, 80, 90) and r.score == pytest.approx(0.9)
    assert res.mask.shape == (1, 1, 128, 160) and res.mask.dtype == torch.bool
    assert res.mask[0, 0, 65, 60] and not res.mask[0, 0, 5, 5]
    # the merged region's mask covers both boxes' ellipses
    assert res.mask[0, 0, 90, 62]
    assert torch.equal(res.masked[:, :, ~res.mask[0, 0]], res.image[:, :, ~res.mask[0, 0]])
    assert not torch.equal(res.masked[:, :, res.mask[0, 0]], res.image[:, :, res.mask[0, 0]])


def test_policy_all_and_uncovered(db):
    res = PrivacyGuard(db, "all").run(_photo())
    assert {r.category for r in res.regions} == {"face", "sign"}
    assert res.uncovered == ("ghost",)
    sign = res.category_mask("sign")
    assert sign[0, 0, 110, 30] and not sign[0, 0, 65, 60]
    js = res.to_json()
    assert js["uncovered_categories"] == ["ghost"] and len(js["regions"]) == 2
    assert all(len(r["box"]) == 4 for r in js["regions"])


def test_policy_none_masks_nothing(db):
    img = _photo()
    res = PrivacyGuard(db, "none").run(img)
    assert res.regions == () and not res.mask.any() and torch.equal(res.masked, img)


def test_unknown_policy_and_fill(db):
    with pytest.raises(UnknownNameError, match="unknown policy"):
        PrivacyGuard(db, "nope")
    with pytest.raises(UnknownNameError, match="unknown fill"):
        PrivacyGuard(db, "faces", fill="glitter")


def test_large_photo_detected_downscaled_masked_full_size(db):
    """Detectors see a copy of at most detect_max_side; boxes come back at full size."""
    big = _photo(256, 320)
    res = PrivacyGuard(db, "faces", detect_max_side=160).run(big)
    assert res.detect_size == (128, 160)
    r = res.regions[0]
    assert r.box == (80, 80, 160, 180)  # the fixed box doubled
    assert res.mask.shape == (1, 1, 256, 320) and res.mask[0, 0, 130, 120]


def test_detections_shared_between_categories_run_once(db):
    from tests.guard.fakes import FixedBoxes

    before = FixedBoxes.calls
    PrivacyGuard(db, "faces").run(_photo())
    assert FixedBoxes.calls - before == 1


def test_segmenter_refines_box_only_detections(db):
    import numpy as np

    class HalfBox:
        """Segments the left half of each box."""

        name = "halfbox"

        def segment(self, image, boxes):
            out = []
            for x0, y0, x1, y1 in boxes:
                m = np.zeros(image.shape[:2], bool)
                m[int(y0) : int(y1), int(x0) : int((x0 + x1) / 2)] = True
                out.append(m)
            return out

    res = PrivacyGuard(db, "faces", segmenter=HalfBox()).run(_photo())
    r = res.regions[0]
    assert r.detector == "fixed_boxes+halfbox"
    assert res.mask[0, 0, 65, 50] and not res.mask[0, 0, 65, 75]  # right half of the face box stays public
    assert "segment" in res.timings
