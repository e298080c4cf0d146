"""Receiver-side restoration of the masked regions."""

from vlm_privsc.inpaint import face_gan, generative, opencv, pushpull  # noqa: F401  (registers the receivers)
from vlm_privsc.inpaint.base import INPAINTERS, Inpainter, TextCondition, dilate_mask, feather_alpha, paste_back

__all__ = ["INPAINTERS", "Inpainter", "TextCondition", "dilate_mask", "feather_alpha", "paste_back"]
