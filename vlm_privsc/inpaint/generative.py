"""The offline generative receiver: one generator per recovered category.

The receiver reads the category it recovered from the text channel (Bob: snapped to the
shared database; Eve: her own guess) and hands the region to that category's generator:

==============================  ==========================================================
recovered category              generator (default routes; a preset may change them)
==============================  ==========================================================
``face``                        ``face_gan``: a new face fitted to the surroundings
``text``                        ``patchmatch``: exemplar texture from the public pixels
``license_plate``               ``blank``: a category prior, a blank plate of the removed
                                plate's own coarse colour (the received attributes)
``person``                      ``patchmatch``: background texture where the person stood
``screen``                      ``flat``: a category prior, a dark blank screen
anything else, or nothing       ``pushpull``: the smooth extension of the surroundings
==============================  ==========================================================

PatchMatch: Barnes, Shechtman, Finkelstein, Goldman, "PatchMatch: A Randomized
Correspondence Algorithm for Structural Image Editing", SIGGRAPH 2009 (the ``pypatchmatch``
wheel, MIT). Its random search is seeded from the caller's generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import torch

from vlm_privsc.backends import INPAINTERS
from vlm_privsc.errors import ConfigError
from vlm_privsc.inpaint.base import Inpainter, TextCondition
from vlm_privsc.inpaint.pull import pull_regions
from vlm_privsc.inpaint.pushpull import PushPullInpainter
from vlm_privsc.io.images import to_tensor, to_uint8

DEFAULT_ROUTES: dict[str, str] = {
    "face": "face_gan",
    "text": "patchmatch",
    "license_plate": "blank",
    "person": "patchmatch",
    "screen": "flat",
}


class PatchMatchInpainter:
    """Fills the mask with patches copied from the public pixels (PatchMatch, Barnes et al. 2009).

    Args:
        patch_size: patch radius (patches span ``(2r+1)^2`` pixels).
        margin: the window worked on spans the hole plus this share of its size on each side.
        max_side: a larger window is searched at this size and the fill upsampled (speed:
            PatchMatch took 1.5 s for a 512-px window around a removed face, on one thread).
        pull: move each filled part's mean colour (and side lighting) to the received region
            attributes (:func:`~vlm_privsc.inpaint.pull.pull_regions`; Bob: the plate's or
            page's own coarse colour where the texture around it has another); nothing without them.
    """

    name = "patchmatch"

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        try:
            import patchmatch
        except ImportError:
            return False, "needs `pip install pypatchmatch`"
        return bool(patchmatch.patchmatch_available), patchmatch.__file__

    def __init__(self, patch_size: int = 3, margin: float = 1.0, max_side: int = 192, pull: bool = False) -> None:
        try:
            import patchmatch
        except ImportError:
            from vlm_privsc.errors import MissingWeightsError

            raise MissingWeightsError(
                "patchmatch: the `pypatchmatch` package is missing; `pip install pypatchmatch`"
            ) from None
        self._pm = patchmatch
        self.patch_size = int(patch_size)
        self.margin = float(margin)
        self.max_side = int(max_side)
        self.pull = bool(pull)

    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        if not bool(mask.any()):
            return image.clone()
        m = mask[0, 0].cpu().numpy().astype(bool)
        arr = to_uint8(image * (~mask).to(image.dtype))  # private pixels are never read
        # work on a window around the hole: its own size again on each side (the exemplars)
        ys, xs = np.nonzero(m)
        h, w = m.shape
        py, px = int((ys.max() - ys.min() + 1) * self.margin) + 8, int((xs.max() - xs.min() + 1) * self.margin) + 8
        y0, y1 = max(0, ys.min() - py), min(h, ys.max() + 1 + py)
        x0, x1 = max(0, xs.min() - px), min(w, xs.max() + 1 + px)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator)) if generator is not None else 0
        self._pm.set_random_seed(seed)
        win, hole = arr[y0:y1, x0:x1], m[y0:y1, x0:x1]
        scale = min(1.0, self.max_side / max(win.shape[:2]))
        if scale < 1.0:  # PatchMatch cost grows with the window: search a smaller copy, then upsample
            size = (max(8, round(win.shape[1] * scale)), max(8, round(win.shape[0] * scale)))
            small = cv2.resize(win, size, interpolation=cv2.INTER_AREA)
            small_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
            small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
            filled = self._pm.inpaint(np.ascontiguousarray(small), small_hole, patch_size=self.patch_size)
            filled = cv2.resize(filled, (win.shape[1], win.shape[0]), interpolation=cv2.INTER_CUBIC)
        else:
            filled = self._pm.inpaint(np.ascontiguousarray(win), hole.astype(np.uint8), patch_size=self.patch_size)
        out = arr.copy()
        out[y0:y1, x0:x1][hole] = filled[hole]
        if self.pull and condition is not None and condition.attributes:
            out = pull_regions(out, m, condition.attributes)
        return to_tensor(out).to(image.device, image.dtype)


class FlatInpainter:
    """A category prior: the hole painted one colour (default a dark blank screen)."""

    name = "flat"

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        return True, "no weights"

    def __init__(self, color: tuple[float, float, float] = (0.06, 0.06, 0.07)) -> None:
        if len(color) != 3 or not all(0.0 <= float(c) <= 1.0 for c in color):
            raise ConfigError(f"flat: color must be three values in [0, 1], got {color!r}")
        self.color = torch.tensor([float(c) for c in color])

    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        fill = self.color.to(image.device, image.dtype)[None, :, None, None].expand_as(image)
        return torch.where(mask, fill, image)


class BlankInpainter(PushPullInpainter):
    """A category prior for "a blank licence plate" / "a blank surface": the smooth push-pull
    fill, its mean colour and side lighting pulled to the received region attributes (the
    removed plate's or sign's own coarse colour; Bob). Without attributes (Eve) it is push-pull."""

    name = "blank"

    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        filled = super().inpaint(image * (~mask).to(image.dtype), mask)  # private pixels are never read
        if condition is None or not condition.attributes or not bool(mask.any()):
            return filled
        out = pull_regions(to_uint8(filled), mask[0, 0].cpu().numpy(), condition.attributes)
        return to_tensor(out).to(image.device, image.dtype)


class GenerativeInpainter:
    """Routes each region to the generator of its recovered category (see the module table).

    Args:
        routes: ``{category: backend}`` over the defaults; a value may be ``{name, params}``.
        fallback: the backend for an unknown or unrecovered category.
    """

    name = "generative"

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        factories: dict[str, Any] = {n: INPAINTERS.get(n) for n in sorted(set(DEFAULT_ROUTES.values()))}
        missing = [n for n, f in factories.items() if hasattr(f, "availability") and not f.availability()[0]]
        return (not missing, "all category generators ready" if not missing else f"missing: {', '.join(missing)}")

    def __init__(self, routes: Mapping[str, Any] | None = None, fallback: str = "pushpull") -> None:
        spec: dict[str, Any] = {**DEFAULT_ROUTES, **dict(routes or {})}
        self._backends: dict[str, Inpainter] = {}
        self.routes: dict[str, str] = {}
        for cat, backend in spec.items():
            name, params = (
                (backend, {}) if isinstance(backend, str) else (backend.get("name"), backend.get("params", {}))
            )
            if not isinstance(name, str) or name == self.name:
                raise ConfigError(f"generative: route {cat!r} must name another inpainter, got {backend!r}")
            self.routes[cat] = name
            if name not in self._backends:
                self._backends[name] = INPAINTERS.build(name, **params)
        self.fallback = fallback
        if fallback not in self._backends:
            self._backends[fallback] = INPAINTERS.build(fallback)

    def backend_for(self, category: str | None) -> str:
        """The backend name that restores a region recovered as ``category``."""
        return self.routes.get(category, self.fallback) if category else self.fallback

    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        cat = condition.category if condition is not None else None
        return self._backends[self.backend_for(cat)].inpaint(image, mask, condition, generator)
