"""Licence-plate detectors that run offline.

``plate_text``
    PP-OCR text lines (DB detector, rapidocr's ONNX model) kept when their shape fits a
    plate's character line (aspect ratio, height relative to the photo), then grown to a
    plate-shaped box (``plate_aspect`` width/height around the line's centre). A plate
    *is* a line of large characters, so a general text detector finds US plates far more
    often than any classic plate cascade; see ``eval/results/guard/README.md``.
``plate_cascade``
    OpenCV's Haar cascade ``haarcascade_russian_plate_number.xml`` (Viola-Jones, shipped
    in opencv-python-headless < 5). Trained on Russian plates (aspect ~4.5:1); on US
    plates it fires often on grilles and bumpers. Kept as a cheap, model-free baseline.
``plate_cascade_ocr``
    The cascade's candidates kept only when PP-OCR finds a text line inside them; box
    snapped to the plate shape around that line.

Reference:
    P. Viola, M. Jones, "Rapid Object Detection using a Boosted Cascade of Simple
    Features", CVPR 2001.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from vlm_privsc.errors import MissingWeightsError
from vlm_privsc.guard.detectors._util import check_image, clip_box, nms, offline_availability, require
from vlm_privsc.guard.detectors.base import Detection
from vlm_privsc.guard.detectors.text import ppocr_det_params, rapidocr_engine, text_lines

CASCADE_FILE = "haarcascade_russian_plate_number.xml"


def _plate_box(quad: np.ndarray, aspect: float, grow: float) -> tuple[float, float, float, float]:
    """Plate-shaped box around a character line: the line's box grown by ``grow`` in
    width, height set to ``width / aspect`` (never smaller than the line)."""
    x0, y0 = quad[:, 0].min(), quad[:, 1].min()
    x1, y1 = quad[:, 0].max(), quad[:, 1].max()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    pw = max((x1 - x0) * grow, (y1 - y0) * aspect)
    ph = max(pw / aspect, (y1 - y0) * grow)
    return (cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2)


def _line_shape_ok(
    quad: np.ndarray,
    height: int,
    min_aspect: float,
    max_aspect: float,
    min_height: float,
    max_height_frac: float,
) -> bool:
    """Does a text line's axis-aligned extent look like a plate's character line?"""
    w = quad[:, 0].max() - quad[:, 0].min()
    h = quad[:, 1].max() - quad[:, 1].min()
    if h < min_height or h > max_height_frac * height:
        return False
    return min_aspect <= w / max(h, 1e-6) <= max_aspect


class TextPlateDetector:
    """Plates as plate-shaped PP-OCR text lines (see module docstring).

    Scores are the DB text score of the line.

    Args:
        score_floor / thresh / unclip_ratio / limit_side_len / limit_type: PP-OCR
            detection settings (as ``ppocr_text``); the defaults are shared with
            ``ppocr_text`` so one detection pass serves both.
        min_aspect / max_aspect: width/height range of a plate's character line
            (the wide default admits US and EU lines; stacked plates are not plate-shaped).
        min_height: smallest line height in pixels (below it nobody can read the plate).
        max_height_frac: tallest line as a fraction of the photo's height.
        plate_aspect: width/height of the plate box drawn around the line (US 2:1, EU 4.7:1).
        grow: plate width as a multiple of the line's width.
    """

    name = "plate_text"

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
        min_aspect: float = 1.2,
        max_aspect: float = 6.0,
        min_height: float = 6.0,
        max_height_frac: float = 0.3,
        plate_aspect: float = 2.0,
        grow: float = 1.15,
    ) -> None:
        self.det_params = ppocr_det_params(score_floor, thresh, unclip_ratio, limit_side_len, limit_type)
        self.min_aspect = float(min_aspect)
        self.max_aspect = float(max_aspect)
        self.min_height = float(min_height)
        self.max_height_frac = float(max_height_frac)
        self.plate_aspect = float(plate_aspect)
        self.grow = float(grow)
        self._engine: Any = None

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = check_image(image, self.name)
        if self._engine is None:
            self._engine = rapidocr_engine(self.name, **self.det_params)
        h, w = image.shape[:2]
        quads, scores = text_lines(self._engine, image)
        out: list[Detection] = []
        for q, s in zip(quads, scores):
            if not _line_shape_ok(q, h, self.min_aspect, self.max_aspect, self.min_height, self.max_height_frac):
                continue
            box = clip_box(*_plate_box(q, self.plate_aspect, self.grow), w, h)
            if box is not None:
                out.append(Detection(box, float(np.clip(s, 0, 1)), self.name, polygon=q))
        out.sort(key=lambda d: -d.score)
        return out


def _load_cascade(detector: str, path: str | os.PathLike[str] | None) -> Any:
    cv2 = require("cv2", "opencv-python-headless<5", detector)
    if path is None:
        base = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if base is None or not hasattr(cv2, "CascadeClassifier"):
            raise MissingWeightsError(
                f"detector {detector!r} needs OpenCV's Haar cascades: "
                "install `pip install 'opencv-python-headless<5'` (5.x ships none)"
            )
        path = os.path.join(base, CASCADE_FILE)
    if not os.path.isfile(path):
        raise MissingWeightsError(
            f"detector {detector!r}: cascade {str(path)!r} not found; "
            "reinstall `pip install 'opencv-python-headless<5'` or pass cascade_path=<xml>"
        )
    cas = cv2.CascadeClassifier(str(path))
    if cas.empty():
        raise MissingWeightsError(f"detector {detector!r}: cannot read cascade {str(path)!r}")
    return cas


class CascadePlateDetector:
    """OpenCV Haar cascade for (Russian) plates; see module docstring.

    Scores map the cascade's last-stage weight ``w`` (about -0.5..2.5) to
    ``sigmoid(2 (w - 0.5))``: ``w = 0.5`` gives 0.5.

    Args:
        scale_factor / min_neighbors: ``detectMultiScale`` settings.
        min_size: smallest candidate ``(w, h)`` in pixels.
        max_side: detection input limit (longer side), for speed.
        score_floor: candidates below this score are dropped.
    """

    name = "plate_cascade"

    @classmethod
    def availability(cls, cascade_path: str | None = None, **_: Any) -> tuple[bool, str]:
        try:
            _load_cascade(cls.name, cascade_path)
        except MissingWeightsError as exc:
            return False, str(exc)
        return True, cascade_path or f"{CASCADE_FILE} (in OpenCV's wheel)"

    def __init__(
        self,
        scale_factor: float = 1.05,
        min_neighbors: int = 2,
        min_size: tuple[int, int] | list[int] = (24, 8),
        max_side: int | None = 1280,
        score_floor: float = 0.2,
        cascade_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = tuple(int(v) for v in min_size)
        self.max_side = max_side
        self.score_floor = float(score_floor)
        self.cascade_path = cascade_path
        self._cas: Any = None

    def candidates(self, image: np.ndarray) -> list[Detection]:
        """All cascade hits above the floor, in image pixels."""
        image = check_image(image, self.name)
        if self._cas is None:
            self._cas = _load_cascade(self.name, self.cascade_path)
        import cv2

        from vlm_privsc.guard.detectors._util import fit_max_side

        h, w = image.shape[:2]
        work, s = fit_max_side(image, self.max_side)
        gray = cv2.equalizeHist(cv2.cvtColor(work, cv2.COLOR_RGB2GRAY))
        rects, _, weights = self._cas.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=self.min_size,
            outputRejectLevels=True,
        )
        out: list[Detection] = []
        for (x, y, bw, bh), wt in zip(np.asarray(rects).reshape(-1, 4), np.ravel(weights)):
            score = float(1.0 / (1.0 + np.exp(-2.0 * (float(wt) - 0.5))))
            box = clip_box(x / s, y / s, (x + bw) / s, (y + bh) / s, w, h)
            if box is not None and score >= self.score_floor:
                out.append(Detection(box, score, self.name))
        out.sort(key=lambda d: -d.score)
        return out

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        return self.candidates(image)


class CascadeOCRPlateDetector:
    """Cascade candidates verified by a plate-shaped PP-OCR text line inside them.

    Each cascade box that contains (centre inside) a plate-shaped text line becomes that
    line's plate box; score = mean of the cascade score and the text score.
    """

    name = "plate_cascade_ocr"

    @classmethod
    def availability(cls, cascade: dict[str, Any] | None = None, **_: Any) -> tuple[bool, str]:
        ok, detail = CascadePlateDetector.availability(**(cascade or {}))
        if not ok:
            return ok, detail
        return TextPlateDetector.availability()

    def __init__(self, cascade: dict[str, Any] | None = None, text: dict[str, Any] | None = None) -> None:
        self.cascade = CascadePlateDetector(**(cascade or {}))
        self.text = TextPlateDetector(**(text or {}))

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        cands = self.cascade.candidates(image)
        if not cands:
            return []
        lines = self.text.detect(image)
        found: list[Detection] = []
        for c in cands:
            for ln in lines:
                q = ln.polygon if ln.polygon is not None else np.array([[ln.box[0], ln.box[1]], [ln.box[2], ln.box[3]]])
                cx, cy = q[:, 0].mean(), q[:, 1].mean()
                if c.box[0] <= cx <= c.box[2] and c.box[1] <= cy <= c.box[3]:
                    found.append(Detection(ln.box, (c.score + ln.score) / 2, self.name, polygon=ln.polygon))
        if not found:
            return []
        keep = nms(np.array([d.box for d in found]), np.array([d.score for d in found]), 0.3)
        return [found[k] for k in keep]
