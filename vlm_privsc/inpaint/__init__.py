"""Receiver-side restoration of the masked regions."""

from vlm_privsc.backends import INPAINTERS
from vlm_privsc.inpaint.base import Inpainter, TextCondition, dilate_mask, feather_alpha, paste_back

__all__ = ["INPAINTERS", "Inpainter", "TextCondition", "dilate_mask", "feather_alpha", "paste_back"]
