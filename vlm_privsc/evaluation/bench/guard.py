"""Benchmark the privacy guard's offline detectors: how much of the labelled private
content the guard's mask covers, how much it masks that is not private, and how fast.

Every number comes from the real :class:`vlm_privsc.guard.PrivacyGuard` (downscaling for
detection, thresholds, NMS merge, mask geometry of the category in the default privacy
database). A "configuration" replaces a category's detector list and thresholds; each
detector runs once per photo (its detections are memoised and re-thresholded per
configuration). The rows ``default`` and ``recommended`` are exact: the real guard with
the default database and policy, and with the categories of :data:`RECOMMENDED` (what
this benchmark recommends for ``privacy_db/default.yaml``) put in its place.

Sets (``--data``, default ``../shared/data``):
  * faces: ``faces_deepface`` (61 photos of 13 people + group photos) against the reviewed
    reference boxes ``eval/annotations/faces_deepface_boxes.csv`` (see the README beside it);
    regions of ``faces_deepface_ignore.csv`` (defocused background heads, faces in pictures)
    count neither as faces nor as false masks.
  * plates: ``plates_us`` (20 US car photos, one labelled plate each).
  * text: ``text_images`` (printed pages): leakage through OCR, i.e. the share of the
    reference words that PP-OCR (full rapidocr: detection + classification + recognition,
    the eavesdropper's best reader here) still reads in the masked image. Reference words:
    the ground truth where a transcript exists (``tesseract_phototest.txt`` for phototest
    and pytesseract's test.jpg), otherwise the words PP-OCR reads in the original.
  * people (proxy, no person labels): share of the reviewed faces that the person mask
    covers, and the masked area.

Definitions:
  * covered: at least 90% of the reference box's pixel footprint is under the guard's mask
    (:mod:`vlm_privsc.measure.coverage`, the rule of ``vlmsc eval`` too).
  * recall: covered / labelled (faces, plates, OCR-verified text lines).
  * false area: share of the photo's pixels that are masked but lie outside every
    reference box grown by 25% on each side (the mask's own dilation) and every ignore
    region; mean over photos.
  * false regions: guard regions whose box has less than 30% of its area inside the
    grown reference boxes and ignore regions (total over the set).
  * detect s: mean detector time per photo on the guard's detection copy (longer side
    <= 1280), this machine.

    python scripts/bench_guard.py --json eval/results/guard/results.json

``--face-candidates DIR`` writes the detector candidates and contact sheets that the
reference face boxes were reviewed from; ``--sheets DIR`` draws the reference, ignore
regions and the default guard's mask on every face photo (for looking, never committed:
the photos are not ours to redistribute).
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import json
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vlm_privsc.db import PrivacyDB, load_db
from vlm_privsc.evaluation.labels import load_labels
from vlm_privsc.guard import PrivacyGuard
from vlm_privsc.guard.detectors import Detection, build_detector
from vlm_privsc.guard.detectors import text as text_detectors
from vlm_privsc.io.images import load_rgb, to_tensor
from vlm_privsc.measure import COVER, Box, box_coverage

ALLOW_GROW = 0.25
QUICK_FACES = ["couple.jpg", "selfie-many-people.jpg", "img54.jpg", "img1.jpg", "target.jpg"]

Spec = tuple[str, dict[str, Any], float]  # detector name, params, threshold


@dataclass
class Config:
    label: str
    detectors: list[Spec]
    mask: dict[str, Any] | None = None
    quick: bool = False
    confirm: dict[str, Any] | None = None
    """The category's ``confirm`` gates for this row (None: no gate, as before issue 17)."""


MTCNN_640 = {"max_side": 640}
FACE_CONFIGS = [
    Config("yunet@0.3", [("yunet", {}, 0.3)]),
    Config("yunet@0.5", [("yunet", {}, 0.5)], quick=True),
    Config("yunet@0.7", [("yunet", {}, 0.7)]),
    Config("mtcnn@0.9", [("mtcnn", {}, 0.9)]),
    Config("mtcnn(max_side 640)@0.9", [("mtcnn", MTCNN_640, 0.9)], quick=True),
    Config("mediapipe_face@0.5", [("mediapipe_face", {}, 0.5)]),
    Config("mediapipe_face(tiles=3)@0.5", [("mediapipe_face", {"tiles": 3}, 0.5)]),
    Config("yunet@0.5 + mtcnn(640)@0.9", [("yunet", {}, 0.5), ("mtcnn", MTCNN_640, 0.9)], quick=True),
    Config(
        "yunet@0.5 + mtcnn(640)@0.9, ellipse dilate 0.25",
        [("yunet", {}, 0.5), ("mtcnn", MTCNN_640, 0.9)],
        mask={"dilate": 0.25},
    ),
    Config(
        "yunet@0.35 + mtcnn(640)@0.9, ellipse dilate 0.25",
        [("yunet", {}, 0.35), ("mtcnn", MTCNN_640, 0.9)],
        mask={"dilate": 0.25},
    ),
    Config(
        "yunet@0.5 + mtcnn(640)@0.9 + mediapipe(tiles=3)@0.6",
        [("yunet", {}, 0.5), ("mtcnn", MTCNN_640, 0.9), ("mediapipe_face", {"tiles": 3}, 0.6)],
    ),
]

PT960 = {"limit_side_len": 960}
PT1024 = {"limit_side_len": 1024}
PLATE_SHAPE_READ: dict[str, Any] = {
    "shape": {"min_aspect": 1.2, "max_aspect": 7.0},
    "read": {"min_score": 0.5, "min_chars": 4, "max_chars": 10, "min_digits": 1},
}
"""The plate gates of session 6 (line shape + characters read), the base of the frame rows."""
PLATE_CONFIGS = [
    Config("plate_cascade@0.5", [("plate_cascade", {}, 0.5)], quick=True),
    Config("plate_cascade@0.8", [("plate_cascade", {}, 0.8)]),
    Config("plate_cascade_ocr@0.4", [("plate_cascade_ocr", {}, 0.4)]),
    Config("plate_text@0.3", [("plate_text", {}, 0.3)]),
    Config("plate_text@0.5", [("plate_text", {}, 0.5)], quick=True),
    Config("plate_text(limit 960)@0.3", [("plate_text", PT960, 0.3)]),
    Config("plate_text(limit 960)@0.4", [("plate_text", PT960, 0.4)]),
    Config("plate_text(limit 1024)@0.3", [("plate_text", PT1024, 0.3)]),
    Config("plate_text(limit 1024)@0.4", [("plate_text", PT1024, 0.4)]),
    Config("plate_text(limit 1024)@0.5", [("plate_text", PT1024, 0.5)]),
    Config("plate_text(limit 1024)@0.4 + plate_cascade@0.8", [("plate_text", PT1024, 0.4), ("plate_cascade", {}, 0.8)]),
    Config(
        "plate_text(limit 960)@0.4 + shape 1.2-7 + read(0.5, 4-10 chars, 1 digit)",
        [("plate_text", PT960, 0.4)],
        quick=True,
        confirm=PLATE_SHAPE_READ,
    ),
    Config(
        "plate_text(limit 960)@0.4 + shape 1.2-7 + read(0.5, 4-10 chars, 1 digit) + frame(0.6, leak 0.02), every line",
        [("plate_text", PT960, 0.4)],
        confirm={**PLATE_SHAPE_READ, "frame": {"min_cover": 0.6, "max_leak": 0.02}},
    ),
    Config(
        "plate_text(limit 960)@0.4 + shape 1.2-7 + read(0.5, 4-10 chars, 1 digit) + frame(0.6, leak 0.02), digit lines",
        [("plate_text", PT960, 0.4)],
        quick=True,
        confirm={**PLATE_SHAPE_READ, "frame": {"min_cover": 0.6, "max_leak": 0.02, "digits_only": True}},
    ),
    Config(
        "plate_text(limit 960)@0.4 + shape 1.2-7 + read(0.5, 4-10 chars, 1 digit) + frame(0.6, edges only), every line",
        [("plate_text", PT960, 0.4)],
        confirm={**PLATE_SHAPE_READ, "frame": {"min_cover": 0.6}},
    ),
    Config(
        "plate_text(limit 960)@0.4 + shape 1.2-7 + read(0.7, 4-10 chars, 1 digit)",
        [("plate_text", PT960, 0.4)],
        confirm={
            "shape": {"min_aspect": 1.2, "max_aspect": 7.0},
            "read": {"min_score": 0.7, "min_chars": 4, "max_chars": 10, "min_digits": 1},
        },
    ),
]

TEXT_CONFIGS = [
    Config("ppocr_text@0.3", [("ppocr_text", {}, 0.3)]),
    Config("ppocr_text@0.5", [("ppocr_text", {}, 0.5)], quick=True),
    Config("ppocr_text@0.7", [("ppocr_text", {}, 0.7)]),
    Config("ppocr_text(limit 960)@0.3", [("ppocr_text", PT960, 0.3)]),
    Config("ppocr_text(limit 960)@0.4", [("ppocr_text", PT960, 0.4)]),
    Config("ppocr_text(limit 960)@0.5", [("ppocr_text", PT960, 0.5)]),
    Config("ppocr_text(limit max 1280)@0.5", [("ppocr_text", {"limit_side_len": 1280, "limit_type": "max"}, 0.5)]),
    Config(
        "ppocr_text(limit 960)@0.4 + read(0.6, 2 chars)",
        [("ppocr_text", PT960, 0.4)],
        confirm={"read": {"min_score": 0.6, "min_chars": 2}},
    ),
    Config(
        "ppocr_text(limit 960)@0.4 + read(0.7, 2 chars)",
        [("ppocr_text", PT960, 0.4)],
        quick=True,
        confirm={"read": {"min_score": 0.7, "min_chars": 2}},
    ),
    Config(
        "ppocr_text(limit 960)@0.4 + read(0.8, 2 chars)",
        [("ppocr_text", PT960, 0.4)],
        confirm={"read": {"min_score": 0.8, "min_chars": 2}},
    ),
]

PEOPLE_CONFIGS = [
    Config("selfie_segmentation@0.5", [("selfie_segmentation", {}, 0.5)], quick=True),
    Config("hog_people@0.8", [("hog_people", {}, 0.8)]),
    Config("selfie_segmentation@0.5 + hog_people@0.8", [("selfie_segmentation", {}, 0.5), ("hog_people", {}, 0.8)]),
]


# What this benchmark recommends for privacy_db/default.yaml (the "recommended" rows run
# the real guard with the default database with these categories replaced).
RECOMMENDED: dict[str, dict[str, Any]] = {
    "face": {
        "detectors": [
            {"name": "yunet", "threshold": 0.5},
            # a second YuNet scale: the soft background face of img41 (2500 px wide) is found
            # at 640 px, not at 1280 (same recall, +2 regions: eval/results/guard/gates_faces_multiscale.json)
            {"name": "yunet", "params": {"max_side": 640}, "threshold": 0.5},
            {"name": "mtcnn", "params": {"max_side": 640}, "threshold": 0.9},
        ],
        "threshold": 0.5,
        "mask": {"shape": "ellipse", "dilate": 0.25, "dilate_px": 2},
    },
    "license_plate": {
        # 0.3: PP-OCR scores 8 of 140 synthetic non-US plates 0.31-0.39 (plate_formats.json); with
        # the gates, 0.3 adds no false mask on Kodak / BSDS500 and none on plates_us (session 9)
        "detectors": [{"name": "plate_text", "params": {"limit_side_len": 960}, "threshold": 0.3}],
        "threshold": 0.3,
        "mask": {"shape": "box", "dilate": 0.15, "dilate_px": 2},
        "confirm": {
            "shape": {"min_aspect": 1.2, "max_aspect": 7.0},
            "read": {"min_score": 0.5, "min_chars": 4, "max_chars": 10, "min_digits": 1},
            # a bounded plate (edges along the characters, or a background that ends), asked of
            # all-digit lines: drops the Kodak/BSDS sail and bib numbers, keeps every plates_us
            # plate and every synthetic plate of other formats (eval/results/guard, session 9)
            "frame": {"min_cover": 0.6, "max_leak": 0.02, "reach": 1.5, "digits_only": True},
        },
    },
    "text": {
        "detectors": [{"name": "ppocr_text", "params": {"limit_side_len": 960}, "threshold": 0.4}],
        "threshold": 0.4,
        "mask": {"shape": "polygon", "dilate": 0.08, "dilate_px": 3},
        "confirm": {"read": {"min_score": 0.7, "min_chars": 2}},
    },
    "person": {
        "detectors": [{"name": "selfie_segmentation", "threshold": 0.5}, {"name": "hog_people", "threshold": 0.9}],
        "threshold": 0.5,
        "mask": {"shape": "segment", "dilate": 0.05, "dilate_px": 6},
        "confirm": {"by_categories": ["face"], "by": [{"name": "hog_people", "threshold": 0.9}], "min_overlap": 0.5},
    },
}


def recommended_db(base: PrivacyDB) -> PrivacyDB:
    """The default database with the categories of :data:`RECOMMENDED` replaced."""
    data = base.model_dump(mode="json")
    for cat, fields in RECOMMENDED.items():
        if cat in data["categories"]:
            data["categories"][cat].update(json.loads(json.dumps(fields)))
    return PrivacyDB.model_validate(data)


# ----------------------------------------------------------------------------- helpers
def _key(name: str, params: dict[str, Any]) -> str:
    return name + json.dumps(params, sort_keys=True)


class MemoDetector:
    """A real detector whose detections are computed once per image and filtered at a threshold."""

    _models: dict[str, Any] = {}
    _memo: dict[tuple[str, bytes], tuple[list[Detection], float]] = {}
    spent = 0.0  # seconds inside real detectors, all instances

    def __init__(self, name: str, params: dict[str, Any], threshold: float) -> None:
        self.name = name
        self.key = _key(name, params)
        self.threshold = threshold
        if self.key not in MemoDetector._models:
            MemoDetector._models[self.key] = build_detector(name, params)

    @classmethod
    def clear(cls) -> None:
        cls._memo.clear()

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        dig = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
        if (self.key, dig) not in MemoDetector._memo:
            text_detectors._LAST.clear()  # time each detector's own PP-OCR pass
            t0 = time.perf_counter()
            found = MemoDetector._models[self.key].detect(image, prompts)
            dt = time.perf_counter() - t0
            MemoDetector._memo[(self.key, dig)] = (found, dt)
            MemoDetector.spent += dt
        found, _ = MemoDetector._memo[(self.key, dig)]
        return [d for d in found if d.score >= self.threshold]

    @classmethod
    def detect_time(cls, keys: list[str]) -> float:
        return sum(t for (k, _), (_, t) in cls._memo.items() if k in keys)


def bench_guard(category: str, cfg: Config, base: PrivacyDB) -> tuple[PrivacyGuard, list[str]]:
    """A guard whose ``category`` is served by ``cfg``'s detectors (memoised) only."""
    data = base.model_dump(mode="json")
    cat = data["categories"][category]
    cat["detectors"] = []
    cat["threshold"] = 0.0
    if cfg.mask:
        cat["mask"] = {**cat["mask"], **cfg.mask}
    cat["confirm"] = cfg.confirm
    data["policies"]["bench_only"] = {"description": "bench", "categories": [category]}
    db = PrivacyDB.model_validate(data)
    dets = [MemoDetector(n, p, t) for n, p, t in cfg.detectors]
    return PrivacyGuard(db, "bench_only", extra_detectors=dets), [d.key for d in dets]


def grow(box: tuple[float, float, float, float], frac: float, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * frac, (y1 - y0) * frac
    return (max(0, int(x0 - dx)), max(0, int(y0 - dy)), min(w, int(np.ceil(x1 + dx))), min(h, int(np.ceil(y1 + dy))))


def allowed_map(h: int, w: int, refs: list[tuple], ignore: list[tuple]) -> np.ndarray:
    a = np.zeros((h, w), dtype=bool)
    for b in refs:
        x0, y0, x1, y1 = grow(b, ALLOW_GROW, w, h)
        a[y0:y1, x0:x1] = True
    for b in ignore:
        x0, y0, x1, y1 = (int(v) for v in b)
        a[max(0, y0) : y1, max(0, x0) : x1] = True
    return a


@dataclass
class Tally:
    """Accumulates one configuration's numbers over a set."""

    labelled: int = 0
    covered: int = 0
    cover_sum: float = 0.0
    false_area: list[float] = field(default_factory=list)
    mask_area: list[float] = field(default_factory=list)
    false_regions: int = 0
    regions: int = 0
    photos: int = 0
    photos_all: int = 0
    detect_s: float = 0.0
    guard_s: float = 0.0
    missed: list[str] = field(default_factory=list)

    def add(self, name: str, mask: np.ndarray, refs: list[tuple], ignore: list[tuple], regions: Any) -> None:
        h, w = mask.shape
        covs = [box_coverage(mask, b) for b in refs]
        self.labelled += len(refs)
        self.covered += sum(c >= COVER for c in covs)
        self.cover_sum += sum(covs)
        self.missed += [f"{name}#{i}({c:.2f})" for i, c in enumerate(covs) if c < COVER]
        allowed = allowed_map(h, w, refs, ignore)
        self.false_area.append(float((mask & ~allowed).mean()))
        self.mask_area.append(float(mask.mean()))
        for r in regions:
            x0, y0, x1, y1 = r.box
            sub = allowed[y0:y1, x0:x1]
            self.regions += 1
            self.false_regions += int(sub.size == 0 or sub.mean() < 0.3)
        self.photos += 1
        self.photos_all += int(all(c >= COVER for c in covs))

    def row(self, label: str) -> dict[str, Any]:
        n = max(self.photos, 1)
        return {
            "config": label,
            "labelled": self.labelled,
            "covered": self.covered,
            "recall": round(self.covered / max(self.labelled, 1), 4),
            "mean_cover": round(self.cover_sum / max(self.labelled, 1), 4),
            "photos_fully_covered": round(self.photos_all / n, 4),
            "false_area": round(float(np.mean(self.false_area)) if self.false_area else 0.0, 5),
            "mask_area": round(float(np.mean(self.mask_area)) if self.mask_area else 0.0, 5),
            "regions": self.regions,
            "false_regions": self.false_regions,
            "detect_s": round(self.detect_s / n, 4),
            "guard_s": round(self.guard_s / n, 4),
            "missed": self.missed,
        }


def run_set(
    items: list[tuple[str, Path, list[tuple], list[tuple]]],
    category: str,
    policy: str,
    configs: list[Config],
    dbs: dict[str, PrivacyDB],
    progress: Any = None,
    whole_mask: bool = False,
) -> list[dict[str, Any]]:
    """Run every configuration, and the real guard of each named database with ``policy``
    (exact rows: ``default``, ``recommended``), on every photo. The exact rows score the
    ``category``'s regions, or with ``whole_mask`` the policy's whole mask (the people proxy:
    since the merge precedence a face inside a person is a face region, not person pixels)."""
    base = dbs["default"]
    tallies = {c.label: Tally() for c in configs}
    exact = {f"{k} (policy {policy!r})": Tally() for k in dbs}
    guards = {c.label: bench_guard(category, c, base) for c in configs}
    exact_guards = {f"{k} (policy {policy!r})": PrivacyGuard(db, policy).load() for k, db in dbs.items()}
    for name, path, refs, ignore in items:
        _, loaded = load_rgb(path)
        img = loaded.tensor
        MemoDetector.clear()
        for c in configs:
            guard, keys = guards[c.label]
            t0, spent0 = time.perf_counter(), MemoDetector.spent
            res = guard.run(img)
            # guard time = its own work (masks, fill) + this configuration's detectors
            own = time.perf_counter() - t0 - (MemoDetector.spent - spent0)
            tallies[c.label].detect_s += MemoDetector.detect_time(keys)
            tallies[c.label].guard_s += own + MemoDetector.detect_time(keys)
            tallies[c.label].add(name, res.mask[0, 0].numpy(), refs, ignore, res.regions)
        for lab, guard in exact_guards.items():
            text_detectors._LAST.clear()  # no shared PP-OCR pass from the rows above
            t0 = time.perf_counter()
            res = guard.run(img)
            exact[lab].guard_s += time.perf_counter() - t0
            exact[lab].detect_s += sum(v for k, v in res.timings.items() if k.startswith("detect."))
            exact[lab].add(
                name,
                (res.mask if whole_mask else res.category_mask(category))[0, 0].numpy(),
                refs,
                ignore,
                list(res.regions) if whole_mask else [r for r in res.regions if r.category == category],
            )
        if progress:
            progress(name)
    rows = [tallies[c.label].row(c.label) for c in configs]
    rows += [t.row(lab) for lab, t in exact.items()]
    return rows


# ----------------------------------------------------------------------------- data sets
def read_boxes(path: Path) -> dict[str, list[Box]]:
    """The reference boxes of an annotation CSV (:func:`~vlm_privsc.evaluation.labels.load_labels`),
    none when the file is absent."""
    return load_labels(path) if path.exists() else {}


def face_items(data: Path, ann: Path, quick: bool) -> list[tuple[str, Path, list[tuple], list[tuple]]]:
    refs = read_boxes(ann / "faces_deepface_boxes.csv")
    ignore = read_boxes(ann / "faces_deepface_ignore.csv")
    root = data / "faces_deepface"
    files = sorted(f for f in refs if (root / f).exists())
    if quick:
        pick = [f for f in QUICK_FACES if f in files]
        files = pick or files[:5]
    return [(f, root / f, refs.get(f, []), ignore.get(f, [])) for f in files]


def plate_items(data: Path, quick: bool) -> list[tuple[str, Path, list[tuple], list[tuple]]]:
    root = data / "plates_us"
    items: list[tuple[str, Path, list[tuple], list[tuple]]] = []
    for lab in sorted(root.glob("*.txt")) if root.exists() else []:
        parts = lab.read_text().strip().split("\t")
        if len(parts) < 5 or not (root / parts[0]).exists():
            continue
        x, y, w, h = (float(v) for v in parts[1:5])
        items.append((parts[0], root / parts[0], [(x, y, x + w, y + h)], []))
    return items[:4] if quick else items


TEXT_GT = {"tesseract_phototest.tif": "tesseract_phototest.txt", "pytesseract_test.jpg": "tesseract_phototest.txt"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W_]+", text.lower()) if len(w) >= 2]


def text_files(data: Path, quick: bool) -> list[tuple[str, Path, Path | None]]:
    root = data / "text_images"
    out = []
    for p in sorted(root.iterdir()) if root.exists() else []:
        if p.suffix.lower() not in IMAGE_EXT:
            continue
        gt = root / TEXT_GT.get(p.name, p.stem + ".txt")
        out.append((p.name, p, gt if gt.exists() else None))
    if quick:
        out = [t for t in out if t[2] is not None][:1] or out[:1]
    return out


def ocr_reader() -> Any:
    """The eavesdropper's reader: full rapidocr (det + cls + rec) with its default settings."""
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error"})


def ocr(reader: Any, rgb: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    res = reader(np.ascontiguousarray(rgb[:, :, ::-1]))
    txts = list(getattr(res, "txts", None) or [])
    found = getattr(res, "boxes", None)
    boxes = list(found) if found is not None else []
    return txts, boxes


def multiset_hits(ref: list[str], read: list[str]) -> int:
    a, b = collections.Counter(ref), collections.Counter(read)
    return sum(min(n, b[w]) for w, n in a.items())


def scene_files(data: Path, quick: bool) -> list[tuple[str, Path, Path | None]]:
    """Scene text: the plates_us car photos (plates, badges, dealer frames, signs)."""
    items: list[tuple[str, Path, Path | None]] = [(n, p, None) for n, p, _, _ in plate_items(data, False)]
    return items[:2] if quick else items


def run_text(
    files: list[tuple[str, Path, Path | None]], configs: list[Config], dbs: dict[str, PrivacyDB], progress: Any = None
) -> dict[str, Any]:
    reader = ocr_reader()
    guards = {c.label: bench_guard("text", c, dbs["default"]) for c in configs}
    exact_guards = {f"{k} (policy 'text')": PrivacyGuard(db, "text").load() for k, db in dbs.items()}
    labels = [c.label for c in configs] + list(exact_guards)
    acc: dict[str, collections.defaultdict[str, float]] = {lab: collections.defaultdict(float) for lab in labels}
    per_image = []
    for name, path, gt in files:
        rgb, loaded = load_rgb(path)
        img = loaded.tensor
        txts, boxes = ocr(reader, rgb)
        read0 = [w for t in txts for w in words(t)]
        ref = words(gt.read_text(encoding="utf-8", errors="replace")) if gt else read0
        # OCR-verified reference lines: lines read in the original holding a reference word
        refset = set(ref)
        lines = []
        for t, q in zip(txts, boxes):
            if any(w in refset for w in words(t)):
                q = np.asarray(q, dtype=float)
                lines.append((q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()))
        MemoDetector.clear()
        info: dict[str, Any] = {
            "image": name,
            "reference": "transcript" if gt else "ocr_of_original",
            "ref_words": len(ref),
            "read_in_original": multiset_hits(ref, read0),
            "lines": len(lines),
        }
        for lab in labels:
            if lab in exact_guards:
                guard, keys = exact_guards[lab], None
                text_detectors._LAST.clear()
            else:
                guard, keys = guards[lab]
            t0, spent0 = time.perf_counter(), MemoDetector.spent
            res = guard.run(img)
            dt = time.perf_counter() - t0 - (MemoDetector.spent - spent0)
            if keys is not None:
                dt += MemoDetector.detect_time(keys)
            masked = (res.masked[0].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            txt_after, _ = ocr(reader, masked)
            read1 = [w for t in txt_after for w in words(t)]
            m = res.mask[0, 0].numpy()
            covs = [box_coverage(m, b) for b in lines]
            a = acc[lab]
            a["ref_words"] += len(ref)
            a["read_before"] += info["read_in_original"]
            a["read_after"] += multiset_hits(ref, read1)
            a["lines"] += len(lines)
            a["lines_covered"] += sum(c >= COVER for c in covs)
            a["mask_area"] += float(m.mean())
            a["guard_s"] += dt
            a["detect_s"] += (
                MemoDetector.detect_time(keys)
                if keys is not None
                else sum(v for k, v in res.timings.items() if k.startswith("detect."))
            )
            info[lab] = {"read_after": multiset_hits(ref, read1), "lines_covered": sum(c >= COVER for c in covs)}
        per_image.append(info)
        if progress:
            progress(name)
    n = max(len(files), 1)
    rows = []
    for lab in labels:
        a = acc[lab]
        rows.append(
            {
                "config": lab,
                "ref_words": int(a["ref_words"]),
                "read_before": int(a["read_before"]),
                "read_after": int(a["read_after"]),
                "leakage": round(a["read_after"] / max(a["ref_words"], 1), 4),
                "word_coverage": round(1 - a["read_after"] / max(a["read_before"], 1), 4),
                "lines": int(a["lines"]),
                "lines_covered": int(a["lines_covered"]),
                "line_recall": round(a["lines_covered"] / max(a["lines"], 1), 4),
                "mask_area": round(a["mask_area"] / n, 4),
                "detect_s": round(a["detect_s"] / n, 4),
                "guard_s": round(a["guard_s"] / n, 4),
            }
        )
    return {"images": len(files), "rows": rows, "per_image": per_image}


def timing_512(data: Path, base: PrivacyDB, quick: bool) -> dict[str, Any]:
    """Guard time per 512x512 photo for each single-category policy (after model load)."""
    import cv2
    from skimage import data as skdata

    photos = [skdata.astronaut()]
    root = data / "faces_deepface"
    for f in [] if quick else ["couple.jpg", "selfie-many-people.jpg", "img54.jpg", "img12.jpg"]:
        if (root / f).exists():
            rgb, _ = load_rgb(root / f)
            photos.append(cv2.resize(rgb, (512, 512), interpolation=cv2.INTER_AREA))
    out = {}
    for policy in ["faces", "plates", "text", "people", "all"]:
        if policy not in base.policies:
            continue
        guard = PrivacyGuard(base, policy).load()
        guard.run(to_tensor(photos[0]))  # warm-up (first inference allocates)
        text_detectors._LAST.clear()
        totals, dets = [], collections.defaultdict(list)
        for p in photos:
            for _ in range(1 if quick else 3):
                text_detectors._LAST.clear()  # time a full PP-OCR pass every run
                res = guard.run(to_tensor(p))
                totals.append(res.timings["guard_total"])
                for k, v in res.timings.items():
                    if k.startswith("detect."):
                        dets[k].append(v)
        out[policy] = {
            "median_s": round(float(np.median(totals)), 4),
            "max_s": round(float(np.max(totals)), 4),
            "detectors_median_s": {k: round(float(np.median(v)), 4) for k, v in dets.items()},
            "photos": len(photos),
        }
    return out


# ----------------------------------------------------------------------------- review aids
def face_candidates(data: Path, out: Path) -> int:
    """Step 1 of the reference: every face detector at a low floor, on the guard's
    1280-px copy, boxes mapped to full size; a CSV of candidates and contact sheets."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    dets = {
        "yunet": (build_detector("yunet", {"score_floor": 0.2}), 0.2),
        "mtcnn": (build_detector("mtcnn", {"min_face_size": 12}), 0.7),
        "mediapipe_face": (build_detector("mediapipe_face", {"score_floor": 0.2, "tiles": 3}), 0.2),
    }
    root = data / "faces_deepface"
    rows = []
    for f in sorted(p.name for p in root.glob("*.jpg")):
        rgb, _ = load_rgb(root / f)
        h, w = rgb.shape[:2]
        s = min(1.0, 1280 / max(h, w))
        small = rgb if s == 1 else cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        for n, (d, floor) in dets.items():
            for x in d.detect(small):
                if x.score >= floor:
                    rows.append([f, n, round(x.score, 4)] + [round(v / s, 1) for v in x.box])
        print(f, flush=True)
    with open(out / "face_candidates.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["file", "detector", "score", "x0", "y0", "x1", "y1"])
        wr.writerows(rows)
    cands: dict[str, list] = collections.defaultdict(list)
    for r in rows:
        cands[str(r[0])].append(r)
    colours = {"yunet": (0, 255, 0), "mtcnn": (255, 0, 0), "mediapipe_face": (0, 0, 255)}
    letters = {"yunet": "y", "mtcnn": "m", "mediapipe_face": "b"}  # b = BlazeFace

    def draw(f: str, im: np.ndarray, s: float) -> None:
        for _, n, sc, x0, y0, x1, y1 in cands[f]:
            cv2.rectangle(im, (round(x0 * s), round(y0 * s)), (round(x1 * s), round(y1 * s)), colours[n], 2)
            cv2.putText(
                im,
                f"{letters[n]}{int(100 * sc)}",
                (round(x0 * s), max(12, round(y0 * s) - 3)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                colours[n],
                1,
            )

    contact_sheets(root, sorted(cands), out / "candidates", draw)
    print(f"wrote {out / 'face_candidates.csv'} and {out}/candidates*.png")
    return 0


def contact_sheets(root: Path, files: list[str], stem: Path, draw: Any, per: int = 16, width: int = 320) -> None:
    """PNG grids (4 columns) of photos scaled to ``width`` with ``draw(file, tile, scale)`` overlays."""
    import cv2

    for p, i in enumerate(range(0, len(files), per)):
        tiles = []
        for f in files[i : i + per]:
            rgb, _ = load_rgb(root / f)
            s = width / rgb.shape[1]
            im = np.ascontiguousarray(cv2.resize(rgb, (width, round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA))
            draw(f, im, s)
            cv2.putText(im, f, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3)
            cv2.putText(im, f, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
            tiles.append(im)
        hmax = max(t.shape[0] for t in tiles)
        tiles = [cv2.copyMakeBorder(t, 0, hmax - t.shape[0], 0, 0, cv2.BORDER_CONSTANT) for t in tiles]
        while len(tiles) % 4:
            tiles.append(np.zeros_like(tiles[0]))
        grid = np.vstack([np.hstack(tiles[j : j + 4]) for j in range(0, len(tiles), 4)])
        cv2.imwrite(f"{stem}{p}.png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


def face_sheets(data: Path, ann: Path, base: PrivacyDB, out: Path) -> int:
    """Reference (green), ignore regions (yellow) and the guard's mask (red tint)."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    refs, ignore = read_boxes(ann / "faces_deepface_boxes.csv"), read_boxes(ann / "faces_deepface_ignore.csv")
    root = data / "faces_deepface"
    guard = PrivacyGuard(base, "faces").load()

    def draw(f: str, im: np.ndarray, s: float) -> None:
        _, loaded = load_rgb(root / f)
        img = loaded.tensor
        m = guard.run(img).mask[0, 0].numpy().astype(np.uint8)
        m = cv2.resize(m, (im.shape[1], im.shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
        im[m] = (0.5 * im[m] + 0.5 * np.array([255, 0, 0])).astype(np.uint8)
        for b in refs.get(f, []):
            cv2.rectangle(im, (round(b[0] * s), round(b[1] * s)), (round(b[2] * s), round(b[3] * s)), (0, 255, 0), 2)
        for b in ignore.get(f, []):
            cv2.rectangle(im, (round(b[0] * s), round(b[1] * s)), (round(b[2] * s), round(b[3] * s)), (255, 255, 0), 1)

    contact_sheets(root, sorted(refs), out / "faces_reference", draw)
    print(f"wrote {out}/faces_reference*.png")
    return 0


# ----------------------------------------------------------------------------- output
def print_tables(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=200)
    for key, title in [
        ("faces", "faces (faces_deepface, reviewed reference)"),
        ("plates", "plates (plates_us)"),
        ("people", "people (proxy: reviewed faces inside the person mask)"),
    ]:
        if key not in results:
            continue
        r = results[key]
        t = Table(
            title=f"{title}: {r['photos']} photos, {r['labelled']} labelled; covered = >= {COVER:.0%} of box masked"
        )
        for c in [
            "config",
            "recall",
            "covered",
            "mean cover",
            "photos all",
            "false area",
            "false regions",
            "mask area",
            "detect s",
            "guard s",
        ]:
            t.add_column(c, justify="left" if c == "config" else "right")
        for row in r["rows"]:
            t.add_row(
                row["config"],
                f"{row['recall']:.3f}",
                f"{row['covered']}/{row['labelled']}",
                f"{row['mean_cover']:.3f}",
                f"{row['photos_fully_covered']:.3f}",
                f"{row['false_area']:.4f}",
                f"{row['false_regions']}/{row['regions']}",
                f"{row['mask_area']:.4f}",
                f"{row['detect_s']:.3f}",
                f"{row['guard_s']:.3f}",
            )
        con.print(t)
    for key, what in [("text", "documents: text_images"), ("text_scene", "scene text: plates_us photos")]:
        if key not in results:
            continue
        r = results[key]
        t = Table(
            title=f"text ({what}, {r['images']} images): leakage = reference words PP-OCR still reads after masking"
        )
        for c in [
            "config",
            "leakage",
            "word coverage",
            "read before",
            "read after",
            "line recall",
            "mask area",
            "detect s",
            "guard s",
        ]:
            t.add_column(c, justify="left" if c == "config" else "right")
        for row in r["rows"]:
            t.add_row(
                row["config"],
                f"{row['leakage']:.3f}",
                f"{row['word_coverage']:.3f}",
                f"{row['read_before']}/{row['ref_words']}",
                f"{row['read_after']}/{row['ref_words']}",
                f"{row['lines_covered']}/{row['lines']}",
                f"{row['mask_area']:.3f}",
                f"{row['detect_s']:.3f}",
                f"{row['guard_s']:.3f}",
            )
        con.print(t)
    if "timing_512" in results:
        t = Table(title="guard time per 512x512 photo (median over photos x repeats, models loaded)")
        for c in ["database", "policy", "median s", "max s", "detectors (median s)"]:
            t.add_column(c)
        for dbname, per in results["timing_512"].items():
            for pol, v in per.items():
                t.add_row(
                    dbname,
                    pol,
                    f"{v['median_s']:.3f}",
                    f"{v['max_s']:.3f}",
                    ", ".join(f"{k[7:]} {s:.3f}" for k, s in v["detectors_median_s"].items()),
                )
        con.print(t)


def _default_data() -> Path:
    return Path("../shared/data").resolve()  # beside the checkout, run from its root


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="data folder (default ../shared/data)")
    ap.add_argument(
        "--annotations",
        type=Path,
        default=Path("eval/annotations"),
        help="folder of faces_deepface_boxes.csv / faces_deepface_ignore.csv",
    )
    ap.add_argument(
        "--sets", default="faces,plates,text,people,timing", help="comma list of faces, plates, text, people, timing"
    )
    ap.add_argument("--quick", action="store_true", help="a few photos per set and fewer configurations")
    ap.add_argument("--json", type=Path, default=None, help="write all results to this JSON file")
    ap.add_argument(
        "--face-candidates",
        type=Path,
        default=None,
        metavar="DIR",
        help="only write the face candidates + contact sheets the reference was reviewed from",
    )
    ap.add_argument(
        "--sheets",
        type=Path,
        default=None,
        metavar="DIR",
        help="only draw reference, ignore regions and the recommended guard's masks on the face photos",
    )
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    base = load_db()
    dbs = {"default": base, "recommended": recommended_db(base)}
    if args.face_candidates:
        return face_candidates(args.data, args.face_candidates)
    if args.sheets:
        return face_sheets(args.data, args.annotations, dbs["recommended"], args.sheets)
    if not args.data.exists():
        print(f"data folder {args.data} not found (pass --data)", file=sys.stderr)
        return 2

    sets = {s.strip() for s in args.sets.split(",") if s.strip()}

    def pick(cfgs: list[Config]) -> list[Config]:
        return [c for c in cfgs if c.quick] if args.quick else cfgs

    def tick(name: str) -> None:
        print(f"  {name}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {
        "command": "python scripts/bench_guard.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "covered_threshold": COVER,
        "allow_grow": ALLOW_GROW,
        "detect_max_side": 1280,
        "db_digest": base.digest(),
        "recommended": RECOMMENDED,
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, torch threads {torch.get_num_threads()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
    }
    if "faces" in sets:
        items = face_items(args.data, args.annotations, args.quick)
        if items:
            print(f"faces: {len(items)} photos", file=sys.stderr)
            rows = run_set(items, "face", "faces", pick(FACE_CONFIGS), dbs, tick)
            results["faces"] = {"photos": len(items), "labelled": sum(len(i[2]) for i in items), "rows": rows}
    if "plates" in sets:
        items = plate_items(args.data, args.quick)
        if items:
            print(f"plates: {len(items)} photos", file=sys.stderr)
            rows = run_set(items, "license_plate", "plates", pick(PLATE_CONFIGS), dbs, tick)
            results["plates"] = {"photos": len(items), "labelled": len(items), "rows": rows}
    if "text" in sets and text_files(args.data, args.quick):
        print("text (documents)", file=sys.stderr)
        results["text"] = run_text(text_files(args.data, args.quick), pick(TEXT_CONFIGS), dbs, tick)
    if "text" in sets and scene_files(args.data, args.quick):
        print("text (scene: plates_us photos)", file=sys.stderr)
        results["text_scene"] = run_text(scene_files(args.data, args.quick), pick(TEXT_CONFIGS), dbs, tick)
    if "people" in sets:
        items = face_items(args.data, args.annotations, args.quick)
        if items:
            print(f"people (proxy): {len(items)} photos", file=sys.stderr)
            # no person labels: the faces are the reference, nothing else is "false"
            whole = [(n, p, r, [(0, 0, 10**6, 10**6)]) for n, p, r, _ in items]
            rows = run_set(whole, "person", "people", pick(PEOPLE_CONFIGS), dbs, tick, whole_mask=True)
            results["people"] = {"photos": len(items), "labelled": sum(len(i[2]) for i in items), "rows": rows}
    if "timing" in sets:
        results["timing_512"] = {k: timing_512(args.data, db, args.quick) for k, db in dbs.items()}
    results["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print_tables(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":  # python scripts/bench_guard.py
    raise SystemExit(main())
