"""Region masks: a detection (box, optional polygon or pixel mask) -> a bool mask.

Geometry follows the category's :class:`~vlm_privsc.db.schema.MaskSpec`: the box is
grown by ``dilate`` (a fraction of its size on each side), drawn as a box, an ellipse,
the detector's polygon or its pixel mask, optionally refined by GrabCut, then grown
by ``dilate_px`` pixels. Recall comes first: a missed pixel of a face is a leak.
"""

from __future__ import annotations

import cv2
import numpy as np

from vlm_privsc.db.schema import MaskSpec

Box = tuple[float, float, float, float]


def dilate_box(box: Box, frac: float, width: int, height: int) -> Box:
    """Grow ``box`` by ``frac`` of its width/height on each side, clipped to the image."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * frac, (y1 - y0) * frac
    return (max(0.0, x0 - dx), max(0.0, y0 - dy), min(float(width), x1 + dx), min(float(height), y1 + dy))


def _box_mask(box: Box, h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=np.uint8)
    x0, y0, x1, y1 = box
    m[int(np.floor(y0)) : int(np.ceil(y1)), int(np.floor(x0)) : int(np.ceil(x1))] = 1
    return m


def _ellipse_mask(box: Box, h: int, w: int) -> np.ndarray:
    """Ellipse inscribed in ``box`` (anti-aliasing off: every touched pixel is private)."""
    m = np.zeros((h, w), dtype=np.uint8)
    x0, y0, x1, y1 = box
    center = (int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2)))
    axes = (max(1, int(np.ceil((x1 - x0) / 2))), max(1, int(np.ceil((y1 - y0) / 2))))
    cv2.ellipse(m, center, axes, 0, 0, 360, 1, thickness=-1, lineType=cv2.LINE_8)
    return m


def _polygon_mask(polygon: np.ndarray, frac: float, h: int, w: int) -> np.ndarray:
    """Polygon grown about its centroid by ``frac`` of its extent."""
    pts = np.asarray(polygon, dtype=np.float64)
    c = pts.mean(axis=0)
    ext = np.maximum(pts.max(axis=0) - pts.min(axis=0), 1.0)
    grown = c + (pts - c) * (1.0 + 2.0 * frac * np.maximum(1.0, 4.0 / ext))
    m = np.zeros((h, w), dtype=np.uint8)
    cv2.fillPoly(m, [np.round(grown).astype(np.int32)], 1)
    return m


def _grabcut(image: np.ndarray, box: Box, prior: np.ndarray) -> np.ndarray:
    """Refine a box into the object's outline; keep the prior if GrabCut collapses."""
    h, w = prior.shape
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return prior
    gc = np.full((h, w), cv2.GC_BGD, dtype=np.uint8)
    gc[prior > 0] = cv2.GC_PR_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.setRNGSeed(0)
        cv2.grabCut(
            cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
            gc,
            None,
            bgd,
            fgd,
            3,  # type: ignore[call-overload]
            cv2.GC_INIT_WITH_MASK,
        )  # (OpenCV's stubs want a rect even with GC_INIT_WITH_MASK)
    except cv2.error:
        return prior
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8) & prior
    # a refinement that drops most of the region is more likely wrong than right
    return fg if fg.sum() >= 0.25 * prior.sum() else prior


def region_mask(
    spec: MaskSpec,
    box: Box,
    height: int,
    width: int,
    *,
    polygon: np.ndarray | None = None,
    pixel_mask: np.ndarray | None = None,
    image: np.ndarray | None = None,
) -> np.ndarray:
    """Bool ``[H, W]`` mask of one region (full-size image coordinates)."""
    grown = dilate_box(box, spec.dilate, width, height)
    if spec.shape == "segment" and pixel_mask is not None:
        m = pixel_mask.astype(np.uint8)
        if spec.dilate > 0:  # grow the segment like the box: by a fraction of its size
            k = int(round(spec.dilate * max(box[2] - box[0], box[3] - box[1])))
            if k > 0:
                m = np.asarray(
                    cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))), dtype=np.uint8
                )
    elif spec.shape == "polygon" and polygon is not None and len(polygon) >= 3:
        m = _polygon_mask(polygon, spec.dilate, height, width)
    elif spec.shape == "ellipse":
        m = _ellipse_mask(grown, height, width)
    else:
        m = _box_mask(grown, height, width)
    if spec.refine == "grabcut" and image is not None:
        m = _grabcut(image, grown, m)
    if spec.dilate_px > 0:
        k = 2 * spec.dilate_px + 1
        m = np.asarray(cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))), dtype=np.uint8)
    return m.astype(bool)
