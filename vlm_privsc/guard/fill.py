"""Filling the private pixels of the masked image before anything is transmitted.

Every fill is computed from the NON-private pixels only (and a seeded generator), so the
masked image carries nothing of what was under the mask: changing the private pixels
cannot change a single transmitted value. ``tests/guard/test_fill.py`` checks exactly that.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from vlm_privsc.errors import UnknownNameError
from vlm_privsc.pushpull import pushpull

FillFn = Callable[[torch.Tensor, torch.Tensor, torch.Generator | None], torch.Tensor]


def _public_mean(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image mean colour of the public pixels ``[B,3,1,1]`` (grey if none)."""
    w = (~mask).float()
    n = w.sum(dim=(2, 3), keepdim=True)
    s = (image * w).sum(dim=(2, 3), keepdim=True)
    return torch.where(n > 0, s / n.clamp_min(1), torch.full_like(s, 0.5))


def fill_mean(image: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Private pixels become the mean colour of the public ones."""
    return torch.where(mask, _public_mean(image, mask).expand_as(image), image)


def fill_noise(image: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Private pixels become seeded Gaussian noise around the public mean and std."""
    w = (~mask).float()
    n = w.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    mean = _public_mean(image, mask)
    std = (((image - mean) ** 2 * w).sum(dim=(2, 3), keepdim=True) / n).sqrt()
    noise = torch.randn(image.shape, generator=generator, dtype=image.dtype, device=image.device)
    return torch.where(mask, (mean + std * noise).clamp(0, 1), image)


def fill_blur(image: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Private pixels become a smooth extension of their surroundings (push-pull).

    See :func:`vlm_privsc.pushpull.pushpull`: the result is a smooth, context-coloured
    patch computed from public pixels only (an all-private image gets mid grey).
    """
    return pushpull(image, mask, empty=0.5).clamp(0, 1)


def fill_black(image: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Private pixels become black (0)."""
    return torch.where(mask, torch.zeros_like(image), image)


FILLS: dict[str, FillFn] = {"mean": fill_mean, "blur": fill_blur, "noise": fill_noise, "black": fill_black}


def apply_fill(
    image: torch.Tensor, mask: torch.Tensor, method: str = "mean", generator: torch.Generator | None = None
) -> torch.Tensor:
    """Replace the private pixels (``mask`` True, ``[B,1,H,W]``) by ``method``."""
    if method not in FILLS:
        raise UnknownNameError(f"unknown fill {method!r}; valid: {', '.join(FILLS)}")
    return FILLS[method](image, mask.expand_as(image), generator)
