"""Text-line detection with PP-OCR's DB detector (rapidocr's ONNX models, detection only).

``ppocr_text`` returns one :class:`Detection` per text line: the axis-aligned box and the
rotated quadrilateral (``polygon``, 4 points clockwise from top-left). Recognition is not
run by the detector; the guard's read gate (a category's ``confirm.read`` in the privacy
database) runs PP-OCR's recogniser on each candidate line through :func:`read_quads`, so a
DB "line" on fur, foliage or stars, where no character is read with confidence, is dropped.

Reference:
    M. Liao, Z. Wan, C. Yao, K. Chen, X. Bai, "Real-time Scene Text Detection with
    Differentiable Binarization", AAAI 2020 (the DB detector of PP-OCR).
    Y. Du et al., "PP-OCR: A Practical Ultra Lightweight OCR System", arXiv:2009.09941.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from vlm_privsc.guard.detectors._util import check_image, clip_box, offline_availability, require
from vlm_privsc.guard.detectors.base import Detection

_ENGINES: dict[tuple[tuple[str, Any], ...], Any] = {}
_LAST: dict[tuple[tuple[str, Any], ...], tuple[bytes, tuple[np.ndarray, np.ndarray]]] = {}


def rapidocr_engine(detector: str, **params: Any) -> Any:
    """A quiet ``rapidocr.RapidOCR`` built from the models inside the rapidocr wheel.

    Engines are cached per parameter set, so detectors sharing PP-OCR detection (text,
    plates) load the ONNX model once.
    """
    mod = require("rapidocr", "rapidocr", detector)
    base: dict[str, Any] = {"Global.log_level": "error", "Global.use_cls": False}
    base.update(params)
    key = tuple(sorted(base.items()))
    if key not in _ENGINES:
        _ENGINES[key] = mod.RapidOCR(params=base)
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return _ENGINES[key]


def _digest(image: np.ndarray) -> bytes:
    return hashlib.blake2b(image.tobytes(), digest_size=16).digest() + repr(image.shape).encode()


MAX_TILE_ASPECT = 8
"""PP-OCR shrinks the longer side to its limit; on a strip much longer than wide the shorter
side would fall to a few pixels (rapidocr then fails), so such strips are cut in tiles."""
MIN_TEXT_SIDE = 8
"""An image (or strip) less than this many pixels across holds no readable line: PP-OCR is
not run on it."""


@dataclass(frozen=True)
class _Mosaic:
    """Overlapping tiles of a long strip stacked across it into one near-square image, so
    PP-OCR sees them in one pass at a sane scale (each tile alone would be enlarged to
    736 px across: a 32x256 tile to 736x5888)."""

    image: np.ndarray
    starts: tuple[int, ...]
    pitch: int
    """Distance between two tiles in the mosaic (tile width across the strip + a gap)."""
    horizontal: bool
    """The strip is wider than high (its tiles are stacked vertically)."""

    def to_strip(self, quads: np.ndarray) -> np.ndarray:
        """Quads ``[N,4,2]`` found in the mosaic -> the strip's coordinates."""
        out = quads.copy()
        axis = 1 if self.horizontal else 0  # the coordinate across the strip
        centre = quads[:, :, axis].mean(axis=1)
        k = np.clip((centre // self.pitch).astype(int), 0, len(self.starts) - 1)
        out[:, :, axis] -= (k * self.pitch)[:, None]
        out[:, :, 1 - axis] += np.asarray(self.starts, dtype=float)[k][:, None]
        return out


def _strip_mosaic(image: np.ndarray) -> _Mosaic | None:
    """The mosaic of a strip longer than :data:`MAX_TILE_ASPECT` times its width (tiles of
    that aspect, overlapping by a quarter so a line cut by one is whole in the next), or
    ``None`` for an ordinary image."""
    h, w = image.shape[:2]
    short, long_ = min(h, w), max(h, w)
    if long_ <= MAX_TILE_ASPECT * short:
        return None
    horizontal = w > h
    strip = image if horizontal else image.transpose(1, 0, 2)  # make it wide: tiles along x
    size, step = MAX_TILE_ASPECT * short, (MAX_TILE_ASPECT * short * 3) // 4
    starts = tuple(range(0, long_ - size, step)) + (long_ - size,)
    gap = max(4, short // 4)
    pitch = short + gap
    mosaic = np.zeros((pitch * len(starts), size, 3), dtype=image.dtype)
    for k, a in enumerate(starts):
        mosaic[k * pitch : k * pitch + short] = strip[:, a : a + size]
    if not horizontal:
        mosaic = mosaic.transpose(1, 0, 2)
    return _Mosaic(np.ascontiguousarray(mosaic), starts, pitch, horizontal)


def text_lines(engine: Any, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run PP-OCR detection only; returns (quads ``[N,4,2]``, scores ``[N]``) in image pixels.

    The last result per engine is memoised by image content, so the ``ppocr_text`` and
    ``plate_text`` detectors of one guard run share one detection pass.
    """
    key = next((k for k, e in _ENGINES.items() if e is engine), None)
    dig = _digest(image_rgb)
    if key is not None and key in _LAST and _LAST[key][0] == dig:
        quads, scores = _LAST[key][1]
        return quads.copy(), scores.copy()
    out = (np.zeros((0, 4, 2)), np.zeros((0,)))
    if min(image_rgb.shape[:2]) >= MIN_TEXT_SIDE:
        mosaic = _strip_mosaic(image_rgb)
        src = image_rgb if mosaic is None else mosaic.image
        res = engine(np.ascontiguousarray(src[:, :, ::-1]), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(res, "boxes", None)
        if boxes is not None and len(boxes) > 0:
            sc = getattr(res, "scores", None)
            quads = np.asarray(boxes, dtype=float)
            out = (
                quads if mosaic is None else mosaic.to_strip(quads),
                np.asarray(sc if sc is not None else [1.0] * len(boxes), dtype=float),
            )
    if key is not None:
        _LAST[key] = (dig, out)
    return out[0].copy(), out[1].copy()


def ppocr_det_params(
    score_floor: float, thresh: float, unclip_ratio: float, limit_side_len: int, limit_type: str
) -> dict[str, Any]:
    """rapidocr parameters for detection only."""
    return {
        "Global.use_rec": False,
        "Det.box_thresh": float(score_floor),
        "Det.thresh": float(thresh),
        "Det.unclip_ratio": float(unclip_ratio),
        "Det.limit_side_len": int(limit_side_len),
        "Det.limit_type": str(limit_type),
    }


class PPOCRTextDetector:
    """PP-OCR (v6 small, via rapidocr) DB text detector, detection only.

    Scores are the DB box score (mean text probability inside the line): typically high
    for clean printed text, lower for small, faint or stylised scene text.

    Args:
        score_floor: DB ``box_thresh``; lines scoring below are dropped in the detector.
        thresh: DB binarisation threshold of the probability map.
        unclip_ratio: how far DB grows each shrunk text kernel (1.6 = PP-OCR default).
        limit_side_len / limit_type: PP-OCR's resize rule ("min": enlarge so the shorter
            side is at least ``limit_side_len``; "max": shrink the longer side to it).
        min_side: drop lines whose shorter side is below this many pixels.
    """

    name = "ppocr_text"

    @classmethod
    def availability(cls, **_: Any) -> tuple[bool, str]:
        return offline_availability(
            cls.name,
            [("rapidocr", "rapidocr"), ("onnxruntime", "onnxruntime")],
            [("rapidocr", "rapidocr/models/*_det_*.onnx", "rapidocr")],
        )

    def __init__(
        self,
        score_floor: float = 0.3,
        thresh: float = 0.3,
        unclip_ratio: float = 1.6,
        limit_side_len: int = 736,
        limit_type: str = "min",
        min_side: float = 3.0,
    ) -> None:
        self.score_floor = float(score_floor)
        self.thresh = float(thresh)
        self.unclip_ratio = float(unclip_ratio)
        self.limit_side_len = int(limit_side_len)
        self.limit_type = str(limit_type)
        self.min_side = float(min_side)
        self._engine: Any = None

    def _model(self) -> Any:
        if self._engine is None:
            self._engine = rapidocr_engine(
                self.name,
                **ppocr_det_params(
                    self.score_floor, self.thresh, self.unclip_ratio, self.limit_side_len, self.limit_type
                ),
            )
        return self._engine

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = check_image(image, self.name)
        h, w = image.shape[:2]
        quads, scores = text_lines(self._model(), image)
        out: list[Detection] = []
        for q, s in zip(quads, scores):
            box = clip_box(q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max(), w, h)
            if box is None or min(box[2] - box[0], box[3] - box[1]) < self.min_side:
                continue
            out.append(Detection(box, float(np.clip(s, 0, 1)), self.name, polygon=q))
        out.sort(key=lambda d: -d.score)
        return out


# --- recognition (the read gate) --------------------------------------------------------
_READS: dict[str, Any] = {"digest": None, "reads": {}}
"""Reads of the last image, by quad: the text and plate categories of one guard run read
each line once."""


def reader_engine() -> Any:
    """The rapidocr engine whose recogniser (PP-OCR rec, in the rapidocr wheel) reads lines."""
    return rapidocr_engine("read_gate")


def crop_quad(image_rgb: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """The line under ``quad`` ``[4,2]`` (clockwise from top-left) warped to an upright
    rectangle, RGB; a line taller than 1.5x its width is turned to read left to right (as
    PP-OCR does); ``None`` if it is less than 2 px either way."""
    import cv2

    q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    w = int(round(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3]))))
    h = int(round(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]))))
    if w < 2 or h < 2:
        return None
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    crop = cv2.warpPerspective(
        image_rgb, cv2.getPerspectiveTransform(q, dst), (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if h >= 1.5 * w:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def box_quad(box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def read_quads(image_rgb: np.ndarray, quads: list[np.ndarray], engine: Any = None) -> list[tuple[str, float]]:
    """PP-OCR recognition of each line ``quads[i]`` ``[4,2]`` of ``image_rgb``: ``(text,
    mean character confidence)``; ``("", 0.0)`` for a degenerate quad. Reads of the last
    image are memoised by quad."""
    dig = _digest(image_rgb)
    if _READS["digest"] != dig:
        _READS["digest"], _READS["reads"] = dig, {}
    memo: dict[bytes, tuple[str, float]] = _READS["reads"]
    keys = [np.round(np.asarray(q, dtype=float).reshape(4, 2), 2).tobytes() for q in quads]
    todo = [i for i, k in enumerate(keys) if k not in memo]
    crops, where = [], []
    for i in todo:
        c = crop_quad(image_rgb, quads[i])
        if c is None:
            memo[keys[i]] = ("", 0.0)
        else:
            crops.append(np.ascontiguousarray(c[:, :, ::-1]))  # rapidocr reads BGR
            where.append(i)
    if crops:
        res = (engine or reader_engine()).recognize_txt(crops)
        for i, t, s in zip(where, res.txts, res.scores):
            memo[keys[i]] = (str(t), float(s))
    return [memo[k] for k in keys]


def count_chars(text: str) -> tuple[int, int]:
    """(letters or digits of any script, digits) in ``text``."""
    return sum(ch.isalnum() for ch in text), sum(ch.isdigit() for ch in text)
