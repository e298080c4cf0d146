"""Pull a filled region towards the colour and shading the received attributes describe.

Shared by the generators that read the region attributes (``face_gan``, ``blank``, ``patchmatch``
with ``pull``): the
fill keeps its structure and its edge (so the blend stays seamless) while its mean CIELAB
colour, and optionally its side lighting, move to what the transmitter measured on the
removed pixels (``vlm_privsc.semantics.attributes``). Without attributes (Eve) nothing moves.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from vlm_privsc.semantics.attributes import shading, target_lab, target_shading

__all__ = ["pull_regions", "pull_to_attributes"]


def pull_regions(img: np.ndarray, mask: np.ndarray, attributes: Mapping[str, str]) -> np.ndarray:
    """:func:`pull_to_attributes` on each connected part of ``mask`` (``img`` uint8 RGB), towards
    what the received ``attributes`` ask for; ``img`` unchanged when they ask for nothing."""
    target, shade = target_lab(attributes), target_shading(attributes)
    if not (target or shade):
        return img
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    for i in range(1, n):
        img = pull_to_attributes(img, labels == i, target, shade)
    return img


def pull_to_attributes(
    img: np.ndarray, region: np.ndarray, target: Mapping[int, float], shade: Mapping[str, float] | None = None
) -> np.ndarray:
    """Shift the region's mean CIELAB to ``target`` with a weight that rises from 0 at its
    edge to 1 a quarter of its size inside, so the blend stays seamless (Bob's attributes:
    Poisson blending alone takes the level from the boundary, i.e. from hair and background);
    ``shade``: add a linear L* ramp across the region so that its halves differ as asked."""
    lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    dist = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)
    ramp = max(1.0, 0.5 * float(dist.max()))  # half the inradius = a quarter of the size
    wgt = np.clip(dist / ramp, 0.0, 1.0)
    core = wgt >= 1.0
    if not core.any():
        core = region
    for ch, value in target.items():
        lab[..., ch] += (value - float(lab[..., ch][core].mean())) * wgt
    if shade:
        ys, xs = np.nonzero(region)
        yy, xx = np.mgrid[: region.shape[0], : region.shape[1]]
        pos = {
            "shade_x": (xx - 0.5 * (xs.min() + xs.max())) / max(1.0, 0.5 * (xs.max() - xs.min())),
            "shade_y": (yy - 0.5 * (ys.min() + ys.max())) / max(1.0, 0.5 * (ys.max() - ys.min())),
        }
        for kind, value in shade.items():
            # a ramp g * pos moves (second half - first half) by about g where the weight is 1
            lab[..., 0] += (value - shading(lab, region, kind)) * pos[kind] * wgt
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    out = img.copy()
    out[region] = np.clip(np.round(rgb[region] * 255.0), 0, 255).astype(np.uint8)
    return out
