"""What the eavesdropper learns from the mask alone: its regions' shapes.

The mask travels in clear (the receivers need it to place the symbols; see the threat model
in the README), and the guard draws each category's regions by the rule the database gives
(``mask.shape``: an ellipse for faces, a box for plates and screens, a polygon for text lines,
a segment for people). A Kerckhoffs Eve knows those rules from the public default database,
so she can guess the category of every connected region of the mask without any key: this
module is that guess, so that its accuracy is measured and reported beside her recovery
from the (keyed) text channel, instead of being assumed away.

The features are the region's fill of its bounding box (an ellipse fills pi/4 of it, a box
all of it, a segment of a person much less) and the box's aspect ratio (plates are wide,
text lines wider, people tall).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vlm_privsc.db.schema import Category
from vlm_privsc.semantics.transport import SemanticDecision

ELLIPSE_FILL = math.pi / 4


@dataclass(frozen=True)
class ShapeFeatures:
    """``fill``: region pixels / bounding-box pixels; ``aspect``: box width / height."""

    fill: float
    aspect: float


def mask_components(mask: np.ndarray) -> list[np.ndarray]:
    """The connected parts (8-connectivity) of a bool mask ``[H,W]``, in label order (top-left
    first): the regions Eve sees when she cannot open the header."""
    import cv2

    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return [labels == i for i in range(1, n)]


def shape_features(region: np.ndarray) -> ShapeFeatures | None:
    """The features of one region (a bool ``[H, W]`` mask); None if it is empty."""
    ys, xs = np.nonzero(region)
    if ys.size == 0:
        return None
    h, w = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
    return ShapeFeatures(fill=float(ys.size) / (h * w), aspect=w / h)


def _kind(f: ShapeFeatures) -> str:
    """The drawing rule a region most likely came from."""
    if f.fill >= 0.93:
        return "box"
    if abs(f.fill - ELLIPSE_FILL) <= 0.07 and 0.4 <= f.aspect <= 2.5:
        return "ellipse"
    if f.fill >= 0.86:  # a dilated, slightly rotated quadrilateral
        return "polygon"
    return "segment"


def guess_category(region: np.ndarray, categories: Mapping[str, Category]) -> str | None:
    """Eve's guess of the category of ``region`` from its shape and the mask rules of
    ``categories`` (the public default database's, unless she is an insider); None when
    no category draws that kind of shape."""
    f = shape_features(region)
    if f is None:
        return None
    kind = _kind(f)
    by_shape: dict[str, list[str]] = {}
    for name, cat in categories.items():
        by_shape.setdefault(cat.mask.shape, []).append(name)
    if kind in ("box", "polygon"):  # boxes and polygons look alike once dilated: use the aspect
        rect = by_shape.get("box", []) + by_shape.get("polygon", [])
        if not rect:
            return None
        wide = [c for c in rect if c in ("text",)] if f.aspect >= 5.5 else []
        plate = [c for c in rect if "plate" in c] if 1.6 <= f.aspect < 5.5 else []
        for pick in (wide, plate, [c for c in rect if categories[c].mask.shape == kind], rect):
            if pick:
                return sorted(pick)[0]
    names = by_shape.get(kind) or by_shape.get("segment") or []
    return sorted(names)[0] if names else None


def shape_accuracy(
    truth: tuple[str, ...],
    true_masks: list[np.ndarray],
    eve_regions: list[np.ndarray],
    categories: Mapping[str, Category],
) -> float | None:
    """Share of the true regions whose category Eve guesses from the shape of the mask
    component that overlaps them most (None without regions)."""
    if not truth:
        return None
    guesses = [guess_category(r, categories) for r in eve_regions]
    ok = 0
    for cat, tm in zip(truth, true_masks):
        overlaps = [int(np.count_nonzero(tm & r)) for r in eve_regions]
        if overlaps and max(overlaps) > 0 and guesses[int(np.argmax(overlaps))] == cat:
            ok += 1
    return ok / len(truth)


def shape_decisions(
    eve_regions: list[np.ndarray], text_guesses: Sequence[SemanticDecision], categories: Mapping[str, Category]
) -> tuple[SemanticDecision, ...]:
    """Eve's decision for each of her regions (the clear mask's connected parts) when she
    cannot open the header: the category her shape guess gives, else her text-channel
    guess for that index. She keeps her received vector (noise to her without the key) and
    gets no prompt: the database's prompt is Bob's, sent under the key."""
    out = []
    for i, region in enumerate(eve_regions):
        text = text_guesses[i] if i < len(text_guesses) else None
        cat = guess_category(region, categories)
        if cat is None and text is not None:
            out.append(text)  # no category draws this shape: her text-channel guess stands
        else:
            similarity, embedding = (text.similarity, text.embedding) if text is not None else (0.0, torch.zeros(0))
            out.append(SemanticDecision(cat, None, similarity, embedding, source="shape" if cat else "none"))
    return tuple(out)
