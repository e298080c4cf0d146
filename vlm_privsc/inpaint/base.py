"""The inpainter interface, its registry, and the exact feathered paste-back.

The receiver restores the masked regions with a generator conditioned on the text it
received (Bob: the database's inpainting prompt after snapping the received embedding;
Eve: only her noisy vector). Whatever the generator, :func:`paste_back` guarantees that
every pixel outside the dilated mask is the decoder's output exactly, so inpainting can
never degrade the public part of the image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import torch


@dataclass(frozen=True)
class TextCondition:
    """What the generator is told about the removed content.

    prompt: the text (Bob recovers it from the shared database; Eve has none).
    embedding: the received text embedding ``[D]`` (what was sent over the channel).
    category: the recovered category name, if any.
    attributes: coarse non-identifying attributes of the removed region that the receiver
        recovered (``vlm_privsc.semantics.attributes``; Bob gets them, Eve does not).
    """

    prompt: str | None = None
    embedding: torch.Tensor | None = field(default=None, repr=False, compare=False)
    category: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str | None:
        """The prompt with the attributes appended (what a text-to-image backend reads)."""
        from vlm_privsc.semantics.attributes import render

        if not self.prompt:
            return None
        return f"{self.prompt}, {render(self.attributes)}" if self.attributes else self.prompt


@runtime_checkable
class Inpainter(Protocol):
    """``inpaint(image [1,3,H,W], mask bool [1,1,H,W], condition, generator) -> [1,3,H,W]``.

    Implementations fill the masked pixels; callers then apply :func:`paste_back`.
    """

    name: str

    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor: ...


def dilate_mask(mask: torch.Tensor, px: int) -> torch.Tensor:
    """Grow a bool ``[1,1,H,W]`` mask by ``px`` pixels (elliptical structuring element)."""
    if px <= 0:
        return mask
    m = mask[0, 0].cpu().numpy().astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return torch.from_numpy(cv2.dilate(m, k).astype(bool))[None, None].to(mask.device)


def feather_alpha(mask: torch.Tensor, dilate_px: int) -> torch.Tensor:
    """Blend weight ``[1,1,H,W]``: 1 on the mask, ramping linearly to 0 across the
    ``dilate_px`` ring around it, and exactly 0 outside the dilated mask."""
    m = mask[0, 0].cpu().numpy().astype(np.uint8)
    if dilate_px <= 0 or not m.any():
        return mask.float()
    dist = cv2.distanceTransform(1 - m, cv2.DIST_L2, 5)  # distance to the nearest masked pixel
    alpha = np.clip(1.0 - dist / (dilate_px + 1.0), 0.0, 1.0)
    grown = dilate_mask(mask, dilate_px)[0, 0].cpu().numpy()
    alpha[~grown] = 0.0
    alpha[m.astype(bool)] = 1.0
    return torch.from_numpy(alpha.astype(np.float32))[None, None].to(mask.device)


def paste_back(decoded: torch.Tensor, generated: torch.Tensor, mask: torch.Tensor, dilate_px: int = 4) -> torch.Tensor:
    """``decoded`` outside the dilated mask (exactly), ``generated`` on the mask, a
    linear feather in between."""
    alpha = feather_alpha(mask, dilate_px).to(decoded.dtype)
    out = decoded * (1 - alpha) + generated * alpha
    return torch.where(alpha == 0, decoded, out)
