"""The frame gate: is a character line the face of a bounded plate?

A licence plate is a bounded rectangle, whatever its country's format: its edge (its rim,
the frame around it, the bumper or recess it sits in) runs along its characters a little
above and below them, and its background ends there. Digits painted on a sail, a hull or
a wall sit on a surface that goes on beyond them. :func:`plate_evidence` measures both, for
the guard's ``confirm.frame`` gate (a line passes on either).

::

    line quad --(perspective warp, upright, margin)--> crop
      --> Otsu inside the line: characters (the class that does not fill its centre, bars
          longer than the line is high removed), their rows and columns (:func:`char_extent`)
      --> cover: Canny edges running along the line (thresholds scaled by the characters'
          own contrast); the best row above the characters (0.15..reach character heights
          away) by the share of the characters' columns it crosses an edge in; the same
          below; cover = min(above, below)
      --> leak: the background between the characters flood-filled (neighbour steps of at
          most FILL_STEP grey levels); the share of the crop farther than reach character
          heights from the characters that the fill reaches

Measured in ``eval/results/guard/README.md`` (session 9).
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
EDGE_FLOOR = 4.0
"""Canny's lower threshold is half the characters' contrast, never below this (grey levels)."""
HORIZONTAL = 2.0
"""Only edges running along the line count: vertical gradient above this many times the horizontal."""
FULL = 0.9
"""A row of the line that is at least this much "character" lies beyond the characters."""
FILL_STEP = 6
"""The flood fill of the background crosses neighbours at most this many grey levels apart."""
FILL_SEEDS = 30
"""Background pixels between the characters the fill starts from (fixed, spread picks)."""
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


def char_extent(line: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The characters of an upright grey ``line`` crop: (bool mask, (first row, last row,
    first column, last column)), None when it holds none.

    Otsu splits the crop; the background is the class that holds most of its centre (the
    crop may reach past a tight plate onto a car darker than the characters). Character
    rows are the run around the centre where the characters hold between :data:`CHAR_ROW`
    and :data:`FULL` of the row (a row wholly "character" is the car beyond the plate);
    likewise the columns, counted over those rows."""
    if line.size == 0 or int(line.max()) == int(line.min()):
        return None
    _, bw = cv2.threshold(line, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = bw > 0
    h, w = light.shape
    centre = light[h // 4 : max(h // 4 + 1, 3 * h // 4), w // 10 : max(w // 10 + 1, 9 * w // 10)]
    chars = ~light if centre.mean() >= 0.5 else light
    # a bar longer than the line is high is a rim or the car's edge, not a character
    bar = max(3, h)
    bars = cv2.morphologyEx(chars.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, bar), np.uint8)) > 0
    chars = chars & ~bars
    frac = chars.mean(axis=1)
    ok = (frac > CHAR_ROW) & (frac < FULL)
    mid = h // 2
    if not ok[mid]:
        near = np.flatnonzero(ok)
        if near.size == 0:
            return None
        mid = int(near[np.argmin(np.abs(near - h // 2))])
    r0 = r1 = mid
    while r0 > 0 and ok[r0 - 1]:
        r0 -= 1
    while r1 < h - 1 and ok[r1 + 1]:
        r1 += 1
    colfrac = chars[r0 : r1 + 1].mean(axis=0)
    cols = np.flatnonzero((colfrac > CHAR_COL) & (colfrac < 1.0))
    if cols.size == 0:
        return None
    return chars, (r0, r1, int(cols[0]), int(cols[-1]))


def plate_evidence(image: np.ndarray, quad: np.ndarray, reach: float = 1.5) -> tuple[float, float]:
    """``(cover, leak)`` of the line ``quad`` ``[4,2]`` of the RGB ``image`` (see the module
    docstring): how well an edge runs along the characters on both sides (0..1), and how much
    of the surroundings beyond ``reach`` character heights their background reaches (0..1).
    A line without characters gives ``(0, 1)``: no evidence of a plate."""
    q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    w, h = _quad_size(q)
    if w < 2 or h < 2:
        return 0.0, 1.0
    crop, valid, (x0, y0, x1, y1) = rectify(image, q, reach + 0.5)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    found = char_extent(grey[y0:y1, x0:x1])
    if found is None:
        return 0.0, 1.0
    chars, (r0, r1, c0, c1) = found
    line = grey[y0:y1, x0:x1]
    top, bottom, left, right = y0 + r0, y0 + r1, x0 + c0, x0 + c1 + 1
    hc = max(bottom - top, 4)
    blur = cv2.GaussianBlur(grey, (3, 3), 0)

    contrast = abs(float(line[chars].mean()) - float(line[~chars].mean()))
    edges = cv2.Canny(blur, max(EDGE_FLOOR, 0.5 * contrast), max(2 * EDGE_FLOOR, contrast)) > 0
    gx = cv2.Sobel(blur.astype(np.float32), cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(blur.astype(np.float32), cv2.CV_32F, 0, 1)
    edges &= valid & (np.abs(gy) > HORIZONTAL * np.abs(gx))
    band = cv2.dilate(edges.astype(np.uint8), np.ones((3, 1), np.uint8)) > 0
    span = band[:, left:right]

    def best(a0: float, a1: float) -> float:
        a, b = max(0, int(a0)), min(span.shape[0], int(a1))
        return float(span[a:b].mean(axis=1).max()) if b > a and span.shape[1] else 0.0

    cover = min(best(top - reach * hc, top - NEAR * hc), best(bottom + NEAR * hc + 1, bottom + reach * hc + 1))

    seeds = np.argwhere(~chars[r0 : r1 + 1, c0 : c1 + 1])
    if seeds.size == 0:
        return cover, 1.0
    picks = seeds[np.linspace(0, len(seeds) - 1, min(FILL_SEEDS, len(seeds))).astype(int)]
    ch, cw = grey.shape
    fill = np.zeros((ch + 2, cw + 2), np.uint8)
    colour = cv2.GaussianBlur(crop, (3, 3), 0)
    flags = 4 | (255 << 8) | cv2.FLOODFILL_MASK_ONLY
    step = (FILL_STEP,) * (colour.shape[2] if colour.ndim == 3 else 1)
    for yy, xx in picks:
        y, x = y0 + r0 + int(yy), x0 + c0 + int(xx)
        if not fill[y + 1, x + 1]:
            cv2.floodFill(colour, fill, (x, y), (0, 0, 0), step, step, flags)
    reached = fill[1:-1, 1:-1] > 0
    ys, xs = np.mgrid[0:ch, 0:cw]
    dist = np.maximum(
        np.maximum(np.maximum(left - xs, xs - (right - 1)), 0), np.maximum(np.maximum(top - ys, ys - bottom), 0)
    )
    far = (dist > reach * hc) & valid
    leak = float(reached[far].mean()) if far.any() else 0.0
    return cover, leak


def frame_cover(image: np.ndarray, quad: np.ndarray, reach: float = 1.5) -> float:
    """The ``cover`` of :func:`plate_evidence`."""
    return plate_evidence(image, quad, reach)[0]
