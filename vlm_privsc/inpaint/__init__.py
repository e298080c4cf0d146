"""Receiver-side restoration of the masked regions."""

from vlm_privsc.inpaint import opencv, pushpull  # noqa: F401  (registers telea, ns, pushpull)
from vlm_privsc.inpaint.base import INPAINTERS, Inpainter, TextCondition, dilate_mask, feather_alpha, paste_back

__all__ = ["INPAINTERS", "Inpainter", "TextCondition", "dilate_mask", "feather_alpha", "paste_back"]
