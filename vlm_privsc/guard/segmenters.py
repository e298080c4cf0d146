"""Segmenters refine detector boxes into pixel masks (SAM and friends).

The offline default needs no segmenter: masks are drawn from boxes (box / ellipse /
polygon, optional GrabCut) by :mod:`vlm_privsc.guard.masks`. A segmenter registered here
(e.g. ``sam`` from a segment-anything checkpoint, ``sam_hf`` from transformers'
``SamModel``) turns every box without a pixel mask into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vlm_privsc.backends import SEGMENTERS

Box = tuple[float, float, float, float]


@runtime_checkable
class Segmenter(Protocol):
    """``segment(image RGB uint8 [H,W,3], boxes) -> list of bool [H,W] masks`` (one per box)."""

    name: str

    def segment(self, image: np.ndarray, boxes: Sequence[Box]) -> list[np.ndarray]: ...


def build_segmenter(name: str, params: dict[str, Any] | None = None) -> Segmenter:
    return SEGMENTERS.build(name, **(params or {}))
