"""How much of a labelled private region the guard's mask covers: the project's one rule.

A reference box ``(x0, y0, x1, y1)`` (``x1``/``y1`` exclusive, in the photo's own
coordinates, scaled by ``(sx, sy)`` to the mask's) covers the pixels of its footprint:
floor of the start, ceiling of the end, clipped to the image. It counts as *covered* when
at least :data:`COVER` of those pixels are under the mask. ``vlmsc eval`` (labelled
boxes and the original's detected faces), the guard benchmark and the precision
benchmark all measure with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COVER = 0.9
"""The share of a reference box's pixels that must be masked for it to count as covered."""

Box = tuple[float, float, float, float]


def box_coverage(mask: np.ndarray, box: Sequence[float], scale: tuple[float, float] = (1.0, 1.0)) -> float:
    """The share of ``box``'s pixel footprint under the bool ``mask`` ``[H,W]`` (0 when the
    footprint is empty or outside the image)."""
    h, w = mask.shape
    sx, sy = scale
    x0, y0, x1, y1 = (float(v) for v in box)
    a0, b0 = max(0, int(np.floor(x0 * sx))), max(0, int(np.floor(y0 * sy)))
    a1, b1 = min(w, int(np.ceil(x1 * sx))), min(h, int(np.ceil(y1 * sy)))
    if a1 <= a0 or b1 <= b0:
        return 0.0
    return float(mask[b0:b1, a0:a1].mean())


def covered(mask: np.ndarray, boxes: Sequence[Sequence[float]], scale: tuple[float, float] = (1.0, 1.0)) -> list[bool]:
    """Whether each box is covered (:data:`COVER` of its footprint masked)."""
    return [box_coverage(mask, b, scale) >= COVER for b in boxes]


def covered_share(mask: np.ndarray, boxes: Sequence[Sequence[float]]) -> float | None:
    """The share of ``boxes`` that are covered; ``None`` without boxes."""
    if not boxes:
        return None
    return float(np.mean(covered(mask, boxes)))
