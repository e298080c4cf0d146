"""Classical inpainting with OpenCV: the offline default receiver generator.

Telea (2004), "An image inpainting technique based on the fast marching method", and
Bertalmio, Bertozzi, Sapiro (2001), "Navier-Stokes, fluid dynamics, and image and video
inpainting". They ignore the text condition: they restore plausible texture from the
surroundings, never the removed content.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from vlm_privsc.inpaint.base import TextCondition
from vlm_privsc.io.images import to_tensor, to_uint8


class _OpenCVInpainter:
    flag: int = cv2.INPAINT_TELEA
    name = "opencv"

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        """Built into OpenCV (imported by this module): always ready once it imports."""
        return True, f"built into OpenCV {cv2.__version__}"

    def __init__(self, radius: int = 5, max_side: int = 1024) -> None:
        self.radius = radius
        self.max_side = max_side

    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        if not bool(mask.any()):
            return image.clone()
        rgb = to_uint8(image)
        m = mask[0, 0].cpu().numpy().astype(np.uint8) * 255
        h, w = m.shape
        s = min(1.0, self.max_side / max(h, w))  # fast marching is O(pixels): work small, upsample
        if s < 1.0:
            small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            ms = cv2.resize(m, (round(w * s), round(h * s)), interpolation=cv2.INTER_NEAREST)
            ms = cv2.dilate(ms, np.ones((3, 3), np.uint8))
            filled = cv2.inpaint(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), ms, self.radius, self.flag)
            filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
        else:
            filled = cv2.inpaint(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), m, self.radius, self.flag)
        out = to_tensor(cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)).to(image.device)
        return torch.where(mask.expand_as(image), out, image)


class TeleaInpainter(_OpenCVInpainter):
    """Fast-marching inpainting (Telea 2004)."""

    flag = cv2.INPAINT_TELEA
    name = "telea"


class NavierStokesInpainter(_OpenCVInpainter):
    """Navier-Stokes inpainting (Bertalmio et al. 2001)."""

    flag = cv2.INPAINT_NS
    name = "ns"
