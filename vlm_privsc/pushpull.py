"""Push-pull hole filling on any ``[B,C,H,W]`` tensor (Gortler et al., "The Lumigraph", 1996, 3.4).

Push: average the known values down a pyramid, weighted by the known share of each cell;
pull: fill each level's holes from the coarser level, upsampled. The holes get a smooth
extension of the values around them. Three users: the ``blur`` transmit fill of the guard,
the ``pushpull`` inpainter of the receivers, and the mask-aware DeepJSCC decoder, which
fills the latent positions that were never transmitted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pushpull(x: torch.Tensor, holes: torch.Tensor, empty: float = 0.0) -> torch.Tensor:
    """``x`` with the entries where ``holes`` is True replaced by their push-pull extension.

    ``holes``: bool, broadcastable to ``x`` along channels (``[B,1,H,W]`` or ``[B,C,H,W]``).
    An image with no known entry at all gets ``empty`` in its holes.
    """
    holes = holes.expand_as(x)
    w = (~holes).to(x.dtype)
    levels: list[tuple[torch.Tensor, torch.Tensor]] = []
    s, ww = x * w, w
    while True:
        levels.append((s, ww))
        if min(s.shape[-2:]) <= 2:
            break
        s = F.avg_pool2d(s, 2, ceil_mode=True)
        ww = F.avg_pool2d(ww, 2, ceil_mode=True)
    # coarsest estimate: weighted mean where known; else the image's known mean (or `empty`)
    s, ww = levels[-1]
    n = w.sum(dim=(2, 3), keepdim=True)
    mean = (x * w).sum(dim=(2, 3), keepdim=True) / n.clamp_min(1)
    mean = torch.where(n > 0, mean, torch.full_like(mean, empty))
    est = torch.where(ww > 0, s / ww.clamp_min(1e-8), mean.expand_as(s))
    for s, ww in reversed(levels[:-1]):
        up = F.interpolate(est, size=s.shape[-2:], mode="bilinear", align_corners=False)
        est = ww * (s / ww.clamp_min(1e-8)) + (1 - ww) * up  # full weight keeps the level's own value
    return torch.where(holes, est, x)
