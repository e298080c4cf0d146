"""Coarse, non-identifying attributes of a removed region, sent beside its text embedding.

The transmitter describes what it removed with a few quantised attributes that help
the receiver's generator draw something that fits the photo without saying who it was:

- ``tone``: the region's mean lightness (CIELAB L*) in 5 bins (2.32 bits);
- ``warmth``: the mean CIELAB a* (red-green) in 3 bins (1.58 bits);
- ``tint``: the mean CIELAB b* (yellow-blue) in 3 bins (1.58 bits);
- ``shade_x`` / ``shade_y``: where the light comes from, the mean L* of the region's right
  (lower) half minus its left (upper) half, in 5 bins each (2.32 bits): the coarse shading
  of a face lit from one side, which a generator fitted to the surroundings cannot see.

They are measured on the private pixels of the region at the transmitter, so they
travel as data the receiver gets only with the key (Bob); an eavesdropper estimates
them from the public ring (her own guess). They travel in the sealed header, one byte
each (``semantics.header``), and their cost in identity leakage is measured in
``eval/results/generation/`` (a region's coarse colour is shared by many people).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import torch


@dataclass(frozen=True)
class AttributeSpec:
    """One attribute: its CIELAB channel, bin edges and the names of its bins.

    ``kind``: ``"mean"`` (the channel's mean over the region) or ``"shade_x"`` / ``"shade_y"``
    (the channel's mean over the right / lower half of the region's box minus the left / upper)."""

    channel: int  # 0 = L*, 1 = a*, 2 = b* (OpenCV float Lab: L in [0,100], a/b in about [-128,127])
    edges: tuple[float, ...]
    names: tuple[str, ...]
    kind: str = "mean"

    @property
    def bits(self) -> float:
        return math.log2(len(self.names))

    def centre(self, name: str) -> float:
        """The value the receiver aims for when told ``name`` (middle of its bin)."""
        i = self.names.index(name)
        lo = self.edges[i - 1] if i > 0 else 2 * self.edges[0] - self.edges[1]
        hi = self.edges[i] if i < len(self.edges) else 2 * self.edges[-1] - self.edges[-2]
        return 0.5 * (lo + hi)

    def quantise(self, value: float) -> str:
        return self.names[int(np.searchsorted(self.edges, value))]


ATTRIBUTES: dict[str, AttributeSpec] = {
    "tone": AttributeSpec(0, (30.0, 45.0, 60.0, 75.0), ("dark", "medium-dark", "medium", "medium-light", "light")),
    "warmth": AttributeSpec(1, (8.0, 18.0), ("neutral", "warm", "red")),
    "tint": AttributeSpec(2, (10.0, 22.0), ("cool", "neutral", "yellow")),
    "shade_x": AttributeSpec(
        0, (-12.0, -4.0, 4.0, 12.0), ("left", "slightly-left", "even", "slightly-right", "right"), kind="shade_x"
    ),
    "shade_y": AttributeSpec(
        0, (-12.0, -4.0, 4.0, 12.0), ("above", "slightly-above", "even", "slightly-below", "below"), kind="shade_y"
    ),
}
"""Every attribute the transmitter can describe (the preset picks which it sends)."""


def mean_lab(image: torch.Tensor, mask: torch.Tensor) -> np.ndarray | None:
    """Mean CIELAB ``(L*, a*, b*)`` of ``image [1,3,H,W]`` over ``mask [1,1,H,W]`` (None if empty)."""
    m = mask[0, 0].cpu().numpy().astype(bool)
    if not m.any():
        return None
    rgb = image[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab)
    return lab[m].mean(axis=0)


def half_masks(region: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"shade_x": (left, right), "shade_y": (upper, lower)}``: ``region`` (bool ``[H, W]``)
    split at the middle of its bounding box."""
    ys, xs = np.nonzero(region)
    yy, xx = np.mgrid[: region.shape[0], : region.shape[1]]
    cx, cy = 0.5 * (xs.min() + xs.max()), 0.5 * (ys.min() + ys.max())
    return {"shade_x": (region & (xx < cx), region & (xx > cx)), "shade_y": (region & (yy < cy), region & (yy > cy))}


def shading(lab: np.ndarray, region: np.ndarray, kind: str, channel: int = 0) -> float:
    """The ``kind`` shading of ``lab`` (``[H, W, 3]``) over ``region``: second half minus first
    (0 where a half is empty)."""
    a, b = half_masks(region)[kind]
    if not a.any() or not b.any():
        return 0.0
    return float(lab[..., channel][b].mean() - lab[..., channel][a].mean())


def describe(image: torch.Tensor, mask: torch.Tensor, names: tuple[str, ...]) -> dict[str, str]:
    """The quantised attributes ``names`` of the pixels of ``image`` under ``mask``."""
    m = mask[0, 0].cpu().numpy().astype(bool)
    if not m.any() or not names:
        return {}
    rgb = image[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab)
    mean = lab[m].mean(axis=0)
    out = {}
    for n in names:
        spec = ATTRIBUTES[n]
        value = float(mean[spec.channel]) if spec.kind == "mean" else shading(lab, m, spec.kind, spec.channel)
        out[n] = spec.quantise(value)
    return out


def target_lab(attributes: Mapping[str, str]) -> dict[int, float]:
    """The CIELAB mean targets ``{channel: value}`` that received attributes ask for."""
    out: dict[int, float] = {}
    for n, v in attributes.items():
        spec = ATTRIBUTES.get(n)
        if spec is not None and spec.kind == "mean" and v in spec.names:
            out[spec.channel] = spec.centre(v)
    return out


def target_shading(attributes: Mapping[str, str]) -> dict[str, float]:
    """The L* shading targets ``{"shade_x": dx, "shade_y": dy}`` that received attributes ask for."""
    out: dict[str, float] = {}
    for n, v in attributes.items():
        spec = ATTRIBUTES.get(n)
        if spec is not None and spec.kind != "mean" and v in spec.names:
            out[spec.kind] = spec.centre(v)
    return out


def render(attributes: Mapping[str, str]) -> str:
    """The attributes as prompt text, e.g. ``"medium tone, warm warmth, lit from the left"``
    (for text-to-image backends)."""
    words = []
    for k, v in attributes.items():
        spec = ATTRIBUTES.get(k)
        if spec is not None and spec.kind != "mean":
            side = v.removeprefix("slightly-")
            where = f"from the {side}" if spec.kind == "shade_x" else f"from {side}"
            words.append("evenly lit" if v == "even" else f"lit {'slightly ' if side != v else ''}{where}")
        else:
            words.append(f"{v} {k}")
    return ", ".join(words)
