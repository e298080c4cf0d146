"""The frame gate: is a character line framed by the edges of a bounded plate?

A licence plate is a bounded rectangle: whatever its country's format, the plate's edge
(its border, the frame around it, the bumper or the recess it sits in) runs parallel to
its characters a little above and a little below them. Digits painted on a sail, a hull
or a wall sit on a surface that goes on beyond them: nothing straight runs along their
whole width there. :func:`frame_cover` measures that, for the guard's ``confirm.frame`` gate.

::

    line quad --(perspective warp, upright, margin)--> crop
      --> Otsu inside the line: characters (the minority class), their rows and columns
      --> Canny edges, thresholds scaled by the characters' own contrast
      --> top: best row above the characters (0.15..reach character heights away) by the
          share of the characters' columns it crosses an edge in; bottom: the same below
      --> cover = min(top, bottom)

Measured in ``eval/results/guard/README.md`` (session 9): US plates 0.71-1.00, sail numbers
0.02-0.18.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_LINE_PX = 12.0
"""Lines lower than this (in pixels) are enlarged to it before the edges are found."""
CHAR_ROW = 0.08
"""A row of the line belongs to the characters when at least this share of it is character."""
CHAR_COL = 0.05
"""Likewise a column."""
NEAR = 0.15
"""Edges nearer the characters than this many character heights are the characters' own."""


def _quad_size(q: np.ndarray) -> tuple[float, float]:
    w = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    h = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    return float(w), float(h)


def rectify(
    image: np.ndarray, quad: np.ndarray, margin: float
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """The line ``quad`` ``[4,2]`` (clockwise from top-left) of ``image`` warped upright with
    ``margin`` line heights around it: (crop, bool mask of the crop's pixels that lie inside
    the image, the line's ``(x0, y0, x1, y1)`` in the crop)."""
    q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    w, h = _quad_size(q)
    h = max(h, 1.0)
    s = max(1.0, MIN_LINE_PX / h)
    m = margin * h
    dst = np.array([[m, m], [m + w, m], [m + w, m + h], [m, m + h]], dtype=np.float32) * np.float32(s)
    cw, ch = max(1, round((w + 2 * m) * s)), max(1, round((h + 2 * m) * s))
    warp = cv2.getPerspectiveTransform(q, dst)
    crop = cv2.warpPerspective(image, warp, (cw, ch), flags=cv2.INTER_LINEAR)
    inside = np.full(image.shape[:2], 255, np.uint8)
    valid = cv2.warpPerspective(inside, warp, (cw, ch), flags=cv2.INTER_NEAREST) > 0
    x0, y0 = int(round(m * s)), int(round(m * s))
    return crop, valid, (x0, y0, min(cw, int(round((m + w) * s))), min(ch, int(round((m + h) * s))))


def frame_cover(image: np.ndarray, quad: np.ndarray, reach: float = 1.5) -> float:
    """How well a frame runs along the characters of the line ``quad`` of the RGB ``image``:
    the smaller of the best edge row's share of the characters' width above them and below
    them (each searched from 0.15 to ``reach`` character heights away); 0 when the line holds
    no characters (see the module docstring)."""
    q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    w, h = _quad_size(q)
    if w < 2 or h < 2:
        return 0.0
    crop, valid, (x0, y0, x1, y1) = rectify(image, q, reach + 0.5)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    line = grey[y0:y1, x0:x1]
    if line.size == 0:
        return 0.0
    _, bw = cv2.threshold(line, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = bw > 0
    chars = ~light if light.mean() >= 0.5 else light
    if not chars.any() or chars.all():
        return 0.0
    rows = np.flatnonzero(chars.mean(axis=1) > CHAR_ROW)
    cols = np.flatnonzero(chars.mean(axis=0) > CHAR_COL)
    if rows.size == 0 or cols.size == 0:
        return 0.0
    top, bottom = y0 + int(rows[0]), y0 + int(rows[-1])
    left, right = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
    hc = max(bottom - top, 4)
    contrast = abs(float(line[chars].mean()) - float(line[~chars].mean()))
    edges = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), max(4.0, 0.5 * contrast), max(8.0, contrast)) > 0
    edges &= valid
    band = cv2.dilate(edges.astype(np.uint8), np.ones((3, 1), np.uint8)) > 0
    span = band[:, left:right]

    def best(r0: float, r1: float) -> float:
        a, b = max(0, int(r0)), min(span.shape[0], int(r1))
        return float(span[a:b].mean(axis=1).max()) if b > a else 0.0

    above = best(top - reach * hc, top - NEAR * hc)
    below = best(bottom + NEAR * hc + 1, bottom + reach * hc + 1)
    return min(above, below)
