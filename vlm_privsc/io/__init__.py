"""I/O edges: image files <-> tensors, atomic output writes."""

from vlm_privsc.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from vlm_privsc.io.images import LoadedImage, load_image, load_rgb, mask_to_uint8, save_png, to_tensor, to_uint8

__all__ = [
    "LoadedImage",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "load_image",
    "load_rgb",
    "mask_to_uint8",
    "save_png",
    "to_tensor",
    "to_uint8",
]
