"""The privacy guard: find the private content named by a policy and remove it.

::

    photo --(downscale for detection)--> detectors per category (privacy database)
          --> threshold --> gates of the category (``confirm``: line shape, read by PP-OCR's
              recogniser, a plate's frame along the characters, an independent detector
              overlapping) --> min size, rescale to
              full size --> per-category NMS merge
          --> region masks (box / ellipse / polygon / segment, dilation, GrabCut)
          --> across categories: one region per object (the database's ``merge`` precedence)
          --> union mask --> fill private pixels (from public pixels only) --> masked photo

Nothing of the private pixels survives in ``GuardResult.masked``; that image is what the
transmitter sends.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from vlm_privsc.db.schema import Category, ConfirmSpec, DetectorSpec, PrivacyDB
from vlm_privsc.errors import UnknownNameError
from vlm_privsc.guard.detectors import Detection, Detector, build_detector
from vlm_privsc.guard.fill import FILLS, apply_fill
from vlm_privsc.guard.masks import region_mask
from vlm_privsc.guard.segmenters import Segmenter
from vlm_privsc.io.images import to_uint8

Box = tuple[float, float, float, float]
MIN_DETECT_SIDE = 32
"""Photos whose shorter side is below this are upscaled for detection (masks stay full size)."""


@dataclass(frozen=True)
class Region:
    """One private region in full-size pixel coordinates."""

    category: str
    box: tuple[int, int, int, int]
    """``[x0, y0, x1, y1]`` of the detection (before mask dilation), clipped to the image."""
    score: float
    detector: str
    mask: torch.Tensor = field(repr=False, compare=False)
    """bool ``[H, W]``: this region's mask (dilated, merged over the detections it absorbed)."""
    merged: int = 1
    """How many detections (from any detector) were merged into this region."""

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "box": list(self.box),
            "score": round(float(self.score), 4),
            "detector": self.detector,
            "merged": self.merged,
            "mask_pixels": int(self.mask.sum()),
        }


@dataclass(frozen=True)
class GuardResult:
    """What the guard found and removed in one photo."""

    image: torch.Tensor = field(repr=False)
    """The original ``[1,3,H,W]``."""
    masked: torch.Tensor = field(repr=False)
    """The photo with every private pixel replaced: what is transmitted."""
    mask: torch.Tensor = field(repr=False)
    """bool ``[1,1,H,W]``, True = private (union over regions)."""
    regions: tuple[Region, ...]
    policy: str
    categories: tuple[str, ...]
    uncovered: tuple[str, ...]
    """Categories of the policy that no available detector serves (nothing was searched)."""
    fill: str
    detect_size: tuple[int, int]
    """(height, width) of the copy the detectors saw."""
    timings: dict[str, float] = field(default_factory=dict)
    gated: dict[str, int] = field(default_factory=dict)
    """Per category: candidates above threshold that its ``confirm`` gates dropped."""

    @property
    def private_fraction(self) -> float:
        return float(self.mask.float().mean())

    def category_mask(self, category: str) -> torch.Tensor:
        """bool ``[1,1,H,W]``: union of the regions of one category."""
        h, w = self.mask.shape[-2:]
        m = torch.zeros((h, w), dtype=torch.bool)
        for r in self.regions:
            if r.category == category:
                m |= r.mask
        return m[None, None]

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "categories": list(self.categories),
            "uncovered_categories": list(self.uncovered),
            "fill": self.fill,
            "image_size": [int(self.mask.shape[-1]), int(self.mask.shape[-2])],
            "detect_size": [self.detect_size[1], self.detect_size[0]],
            "private_fraction": round(self.private_fraction, 6),
            "regions": [r.to_json() for r in self.regions],
        }


_DETECTOR_CACHE: dict[str, Detector] = {}


def _spec_key(spec: DetectorSpec) -> str:
    import json

    return spec.name + json.dumps(spec.params, sort_keys=True, default=str)


def cached_detector(spec: DetectorSpec) -> Detector:
    """Build each (detector, params) once per process: models load once."""
    key = _spec_key(spec)
    if key not in _DETECTOR_CACHE:
        _DETECTOR_CACHE[key] = build_detector(spec.name, spec.params)
    return _DETECTOR_CACHE[key]


def detection_scale(h: int, w: int, max_side: int) -> float:
    """The scale of the copy the detectors see: the longer side at most ``max_side``; small
    photos enlarged until the shorter side is :data:`MIN_DETECT_SIDE`, but a thin strip
    (8x5000) never beyond ``2 * max_side`` on its longer side, so its detection cost stays
    that of an ordinary photo."""
    scale = min(1.0, max_side / max(h, w))
    if min(h, w) * scale < MIN_DETECT_SIDE:
        scale = max(scale, min(MIN_DETECT_SIDE / min(h, w), 2 * max_side / max(h, w)))
    return scale


class PrivacyGuard:
    """Grounded detection + segmentation driven by the privacy database.

    Args:
        db: the shared privacy database.
        policy: a policy name of ``db`` (``faces``, ``all``, ``none``, ...).
        fill: how private pixels are replaced: ``mean`` | ``blur`` | ``noise`` | ``black``.
        detect_max_side: photos larger than this are detected on a downscaled copy
            (masks are drawn at full size).
        extra_detectors: prompt-driven detectors (OWLv2, GroundingDINO) run for every
            category of the policy with that category's prompts and threshold.
        segmenter: refines every box that comes without a pixel mask into one (SAM);
            the category's dilation still applies.
    """

    def __init__(
        self,
        db: PrivacyDB,
        policy: str = "faces",
        *,
        fill: str = "mean",
        detect_max_side: int = 1280,
        extra_detectors: Sequence[Detector] = (),
        segmenter: Segmenter | None = None,
    ) -> None:
        if fill not in FILLS:
            raise UnknownNameError(f"unknown fill {fill!r}; valid: {', '.join(FILLS)}")
        if detect_max_side < 64:
            raise ValueError("detect_max_side must be >= 64")
        self.db = db
        self.policy = policy
        self.categories = db.policy_categories(policy)
        self.fill = fill
        self.detect_max_side = detect_max_side
        self.extra_detectors = tuple(extra_detectors)
        self.segmenter = segmenter

    def load(self) -> PrivacyGuard:
        """Build (and so load) every detector the policy needs, ahead of the first photo."""
        for cname in self.categories:
            for spec in self.db.categories[cname].detectors:
                cached_detector(spec)
        return self

    # --- detection ---------------------------------------------------------------
    @staticmethod
    def _run_spec(
        spec: DetectorSpec,
        cat: Category,
        small: np.ndarray,
        cache: dict[str, list[Detection]],
        timings: dict[str, float],
    ) -> list[Detection]:
        """One detector's detections above its threshold (each detector runs once per photo)."""
        key = _spec_key(spec)
        if key not in cache:
            det = cached_detector(spec)
            t0 = time.perf_counter()
            cache[key] = det.detect(small, cat.prompts)
            timings[f"detect.{spec.name}"] = timings.get(f"detect.{spec.name}", 0.0) + time.perf_counter() - t0
        thr = spec.threshold if spec.threshold is not None else cat.threshold
        return [d for d in cache[key] if d.score >= thr]

    def _detect_category(
        self,
        cat: Category,
        small: np.ndarray,
        cache: dict[str, list[Detection]],
        timings: dict[str, float],
    ) -> list[Detection]:
        out: list[Detection] = []
        for spec in cat.detectors:
            out.extend(self._run_spec(spec, cat, small, cache, timings))
        for det in self.extra_detectors:
            t0 = time.perf_counter()
            found = det.detect(small, cat.prompts)
            timings[f"detect.{det.name}"] = timings.get(f"detect.{det.name}", 0.0) + time.perf_counter() - t0
            thr = cat.prompt_threshold if cat.prompt_threshold is not None else cat.threshold
            out.extend(d for d in found if d.score >= thr)
        return out

    def run(self, image: torch.Tensor, generator: torch.Generator | None = None) -> GuardResult:
        """Find and remove the policy's private content in ``image`` ``[1,3,H,W]``."""
        if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3:
            raise ValueError(f"PrivacyGuard.run takes one RGB image [1,3,H,W], got {tuple(image.shape)}")
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        h, w = image.shape[-2:]
        rgb = to_uint8(image)
        scale = detection_scale(h, w, self.detect_max_side)
        small = (
            rgb
            if scale == 1.0
            else cv2.resize(
                rgb,
                (max(1, round(w * scale)), max(1, round(h * scale))),
                interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC,
            )
        )
        sy, sx = h / small.shape[0], w / small.shape[1]

        cache: dict[str, list[Detection]] = {}
        regions: list[Region] = []
        uncovered: list[str] = []
        gated: dict[str, int] = {}
        for cname in self.categories:
            cat = self.db.categories[cname]
            if not cat.detectors and not self.extra_detectors:
                uncovered.append(cname)
                continue
            dets = self._detect_category(cat, small, cache, timings)
            if cat.confirm is not None and dets:
                t0 = time.perf_counter()
                kept = self._confirm(cat.confirm, cat, dets, small, cache, timings)
                timings["confirm"] = timings.get("confirm", 0.0) + time.perf_counter() - t0
                gated[cname] = len(dets) - len(kept)
                dets = kept
            if self.segmenter is not None and dets:
                t0 = time.perf_counter()
                dets = self._segment(small, dets)
                timings["segment"] = timings.get("segment", 0.0) + time.perf_counter() - t0
            t0 = time.perf_counter()
            cat_regions = self._regions(cname, cat, dets, (sx, sy), (h, w), rgb)
            timings["masks"] = timings.get("masks", 0.0) + time.perf_counter() - t0
            regions.extend(cat_regions)
        if len({r.category for r in regions}) > 1:
            t0 = time.perf_counter()
            regions = merge_across_categories(regions, self._precedence(), self.db.merge.absorb)
            timings["merge"] = time.perf_counter() - t0
        union = np.zeros((h, w), dtype=bool)
        for r in regions:
            union |= r.mask.numpy()

        mask = torch.from_numpy(union)[None, None]
        t0 = time.perf_counter()
        masked = apply_fill(image, mask, self.fill, generator) if union.any() else image.clone()
        timings["fill"] = time.perf_counter() - t0
        timings["guard_total"] = time.perf_counter() - t_start
        return GuardResult(
            image=image,
            masked=masked,
            mask=mask,
            regions=tuple(regions),
            policy=self.policy,
            categories=tuple(self.categories),
            uncovered=tuple(uncovered),
            fill=self.fill,
            detect_size=(int(small.shape[0]), int(small.shape[1])),
            timings=timings,
            gated=gated,
        )

    def _precedence(self) -> list[str]:
        """The policy's categories, first wins: the database's ``merge.precedence``, then the rest."""
        listed = [c for c in self.db.merge.precedence if c in self.categories]
        return listed + [c for c in self.categories if c not in listed]

    # --- gates ---------------------------------------------------------------------
    def _confirm(
        self,
        spec: ConfirmSpec,
        cat: Category,
        dets: list[Detection],
        small: np.ndarray,
        cache: dict[str, list[Detection]],
        timings: dict[str, float],
    ) -> list[Detection]:
        """The detections of ``dets`` that pass every gate of ``spec`` (see :class:`ConfirmSpec`)."""
        from vlm_privsc.guard.detectors.text import box_quad, count_chars, read_quads

        quads = [
            d.polygon if d.polygon is not None and np.asarray(d.polygon).shape == (4, 2) else box_quad(d.box)
            for d in dets
        ]
        keep = [True] * len(dets)
        texts: dict[int, str] = {}
        if spec.shape is not None:
            for i, q in enumerate(quads):
                a = quad_aspect(q)
                if a < spec.shape.min_aspect or (spec.shape.max_aspect is not None and a > spec.shape.max_aspect):
                    keep[i] = False
        if spec.read is not None:
            todo = [i for i in range(len(dets)) if keep[i]]
            t0 = time.perf_counter()
            reads = read_quads(small, [quads[i] for i in todo]) if todo else []
            timings["read"] = timings.get("read", 0.0) + time.perf_counter() - t0
            g = spec.read
            texts.update(zip(todo, (t for t, _ in reads)))
            for i, (txt, score) in zip(todo, reads):
                n, digits = count_chars(txt)
                if (
                    score < g.min_score
                    or n < g.min_chars
                    or digits < g.min_digits
                    or (g.max_chars is not None and n > g.max_chars)
                ):
                    keep[i] = False
        if spec.frame is not None:
            from vlm_privsc.guard.frame import plate_evidence

            t0 = time.perf_counter()
            fg = spec.frame
            todo = [i for i in range(len(dets)) if keep[i]]
            if fg.digits_only:  # only lines read as digits alone are asked for a frame
                unread = [i for i in todo if i not in texts]
                if unread:
                    texts.update(zip(unread, (t for t, _ in read_quads(small, [quads[i] for i in unread]))))
                todo = [i for i in todo if not any(ch.isalpha() for ch in texts[i])]
            for i in todo:
                cover, leak = plate_evidence(small, quads[i], fg.reach)
                keep[i] = cover >= fg.min_cover or (fg.max_leak is not None and leak <= fg.max_leak)
            timings["frame"] = timings.get("frame", 0.0) + time.perf_counter() - t0
        if spec.by or spec.by_categories:
            confirmers: list[Detection] = []
            for s in spec.by:
                confirmers.extend(self._run_spec(s, cat, small, cache, timings))
            for other in spec.by_categories:
                confirmers.extend(self._detect_category(self.db.categories[other], small, cache, timings))
            for i, d in enumerate(dets):
                if keep[i]:
                    keep[i] = any(
                        not (c.detector == d.detector and c.box == d.box) and overlap(d, c) >= spec.min_overlap
                        for c in confirmers
                    )
        return [d for d, k in zip(dets, keep) if k]

    def _segment(self, small: np.ndarray, dets: list[Detection]) -> list[Detection]:
        """Give every box-only detection the segmenter's pixel mask (one batched call)."""
        from dataclasses import replace

        todo = [i for i, d in enumerate(dets) if d.mask is None]
        if not todo or self.segmenter is None:
            return dets
        masks = self.segmenter.segment(small, [dets[i].box for i in todo])
        out = list(dets)
        for i, m in zip(todo, masks):
            if m is not None and m.any():
                out[i] = replace(dets[i], mask=m.astype(bool), detector=f"{dets[i].detector}+{self.segmenter.name}")
        return out

    def _regions(
        self,
        cname: str,
        cat: Category,
        dets: list[Detection],
        scale: tuple[float, float],
        size: tuple[int, int],
        rgb: np.ndarray,
    ) -> list[Region]:
        """Rescale, filter by size, merge overlapping detections (NMS), draw masks."""
        sx, sy = scale
        h, w = size
        boxes, masks, kept = [], [], []
        for d in dets:
            x0, y0, x1, y1 = d.box
            box = (max(0.0, x0 * sx), max(0.0, y0 * sy), min(float(w), x1 * sx), min(float(h), y1 * sy))
            if box[2] - box[0] < max(1, cat.min_size) or box[3] - box[1] < max(1, cat.min_size):
                continue
            poly = None if d.polygon is None else np.asarray(d.polygon, dtype=np.float64) * [sx, sy]
            pix = None
            if d.mask is not None:
                pix = d.mask.astype(np.uint8)
                if pix.shape != (h, w):
                    pix = np.asarray(cv2.resize(pix, (w, h), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
            spec = cat.mask
            if pix is not None and self.segmenter is not None and spec.shape != "segment":
                spec = spec.model_copy(update={"shape": "segment", "refine": "none"})
            masks.append(region_mask(spec, box, h, w, polygon=poly, pixel_mask=pix, image=rgb))
            boxes.append(box)
            kept.append(d)
        if not kept:
            return []
        from torchvision.ops import box_iou, nms  # lazy: keeps `vlmsc` start-up fast

        tb = torch.tensor(boxes, dtype=torch.float32)
        ts = torch.tensor([d.score for d in kept], dtype=torch.float32)
        keep = nms(tb, ts, cat.nms_iou).tolist()
        # every suppressed detection joins the kept one it overlaps most (its mask too)

        iou = box_iou(tb, tb[keep])
        owner = iou.argmax(dim=1).tolist()
        out = []
        for j, i in enumerate(keep):
            members = [k for k in range(len(kept)) if owner[k] == j or k == i]
            m = np.zeros((h, w), dtype=bool)
            for k in members:
                m |= masks[k]
            x0, y0, x1, y1 = boxes[i]
            out.append(
                Region(
                    category=cname,
                    box=(int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))),
                    score=float(kept[i].score),
                    detector=kept[i].detector,
                    mask=torch.from_numpy(m),
                    merged=len(members),
                )
            )
        return out


def quad_aspect(quad: np.ndarray) -> float:
    """Width / height of a line quadrilateral ``[4,2]`` (clockwise from top-left): the mean
    length of its top and bottom edges over that of its left and right edges."""
    q = np.asarray(quad, dtype=float).reshape(4, 2)
    w = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    h = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    return float(w / max(h, 1e-6))


def overlap(candidate: Detection, confirmer: Detection) -> float:
    """Pixels of ``confirmer``'s box inside ``candidate``'s mask (else its box), over the
    smaller of the two areas (1 when one holds the other)."""
    cx0, cy0, cx1, cy1 = confirmer.box
    c_area = max(0.0, cx1 - cx0) * max(0.0, cy1 - cy0)
    if candidate.mask is not None:
        m = candidate.mask
        h, w = m.shape
        x0, y0 = int(np.clip(np.floor(cx0), 0, w)), int(np.clip(np.floor(cy0), 0, h))
        x1, y1 = int(np.clip(np.ceil(cx1), 0, w)), int(np.clip(np.ceil(cy1), 0, h))
        inter = float(m[y0:y1, x0:x1].sum())
        d_area = float(m.sum())
    else:
        bx0, by0, bx1, by1 = candidate.box
        inter = max(0.0, min(bx1, cx1) - max(bx0, cx0)) * max(0.0, min(by1, cy1) - max(by0, cy0))
        d_area = max(0.0, bx1 - bx0) * max(0.0, by1 - by0)
    return inter / max(min(c_area, d_area), 1e-9)


def merge_across_categories(regions: list[Region], precedence: list[str], absorb: float | None = None) -> list[Region]:
    """One region per object: regions settled in ``precedence`` order (first wins). A
    region lying for at least ``absorb`` of its mask inside the regions already kept (of
    other categories) is merged into the one it overlaps most (that region's mask grows
    by it, its ``merged`` count by its count); otherwise it keeps only its pixels outside
    them (dropped if none are left). The union of the masks never changes."""
    from dataclasses import replace

    if absorb is None:
        absorb = 0.5
    rank = {c: i for i, c in enumerate(precedence)}
    order = sorted(range(len(regions)), key=lambda i: (rank.get(regions[i].category, len(rank)), i))
    kept: list[Region] = []
    for i in order:
        r = regions[i]
        m = r.mask
        area = int(m.sum())
        others = [k for k, o in enumerate(kept) if o.category != r.category]
        if not others or area == 0:
            kept.append(r)
            continue
        inter = [int((m & kept[k].mask).sum()) for k in others]
        covered = torch.zeros_like(m)
        for k in others:
            covered |= kept[k].mask
        inside = int((m & covered).sum())
        if inside == 0:
            kept.append(r)
        elif inside >= absorb * area:
            k = others[int(np.argmax(inter))]
            o = kept[k]
            kept[k] = replace(o, mask=o.mask | m, merged=o.merged + r.merged)
        else:
            kept.append(replace(r, mask=m & ~covered))
    return kept
