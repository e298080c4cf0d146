"""Image loading and saving at the pipeline's edges.

Inside the pipeline an image is a float32 tensor ``[1, 3, H, W]`` in ``[0, 1]``; here is
where files become tensors and back. Loading applies the EXIF orientation, turns grey,
palette, 16-bit and alpha images into RGB (alpha composited over white), and accepts
``skimage:NAME`` for photos that ship with scikit-image (``skimage:astronaut``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from vlm_privsc.errors import InputError
from vlm_privsc.io.atomic import atomic_write_bytes
from vlm_privsc.io.files import read_input_bytes

PACKAGED_PREFIX = "skimage:"
MAX_IMAGE_PIXELS = 64_000_000
"""The largest photo accepted (64 Mpx, e.g. 8000x8000), checked from the file's header before
it is decoded: a "pixel bomb" of a few kB that claims more is refused, and the largest accepted
photo needs about 1 GB as the pipeline's float tensor."""
MAX_IMAGE_BYTES = 256 * 2**20
"""The largest image file read (256 MiB)."""
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # Pillow's own decompression-bomb guard, at the same level


@dataclass(frozen=True)
class LoadedImage:
    """An RGB photo as loaded: ``tensor`` ``[1,3,H,W]`` float32 in [0,1]."""

    tensor: torch.Tensor
    source: str
    original_mode: str
    had_alpha: bool
    exif_transposed: bool

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return int(self.tensor.shape[-2]), int(self.tensor.shape[-1])


def packaged_image_names() -> list[str]:
    """Names usable as ``skimage:NAME`` (colour or grey photos in scikit-image)."""
    return [
        "astronaut",
        "camera",
        "coffee",
        "chelsea",
        "rocket",
        "text",
        "page",
        "immunohistochemistry",
        "cat",
        "hubble_deep_field",
        "retina",
        "moon",
    ]


def _load_packaged(name: str) -> np.ndarray:
    import skimage.data

    if name not in packaged_image_names() or not hasattr(skimage.data, name):
        raise InputError(
            f"unknown packaged image 'skimage:{name}'; valid: "
            + ", ".join(f"skimage:{n}" for n in packaged_image_names())
        )
    return np.asarray(getattr(skimage.data, name)())


def _to_rgb_uint8(im: Image.Image) -> tuple[np.ndarray, bool]:
    """Convert any Pillow mode to RGB uint8; return (array, had_alpha)."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        _check_finite(arr)
        hi = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        if mode == "F" and arr.max() <= 1.0:
            hi = 1.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2), False
    had_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La")
    if had_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8).copy(), had_alpha


class NonFiniteError(ValueError):
    """A float image holds NaN or infinite values (the message is their count)."""


def _check_finite(arr: np.ndarray) -> None:
    bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise NonFiniteError(str(bad))


def _array_to_rgb_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype != np.uint8:
        a = arr.astype(np.float64)
        _check_finite(a)
        a = a / 65535.0 if arr.dtype == np.uint16 else (a if a.max() <= 1.0 else a / 255.0)
        arr = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[..., 3:4].astype(np.float32) / 255.0
        arr = (arr[..., :3] * alpha + 255.0 * (1 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(arr[..., :3])


def _load_16bit_colour(path: Path) -> np.ndarray | None:
    """16-bit colour PNG/TIFF: Pillow would truncate to 8 bits; OpenCV keeps them."""
    import cv2

    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        return None
    arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return _array_to_rgb_uint8(arr)


def load_rgb(source: str | Path) -> tuple[np.ndarray, LoadedImage]:
    """Load a photo as an RGB uint8 array and a :class:`LoadedImage` tensor.

    Raises :class:`InputError` with one line for a missing, unreadable or empty file.
    The file is only read, never modified.
    """
    src = str(source)
    if src.startswith(PACKAGED_PREFIX):
        arr = _array_to_rgb_uint8(_load_packaged(src[len(PACKAGED_PREFIX) :]))
        return arr, LoadedImage(to_tensor(arr), src, "RGB", False, False)
    path = Path(src)
    data = read_input_bytes(path, "image", MAX_IMAGE_BYTES)
    if not data:
        raise InputError(f"image {src!r} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    raise InputError(
                        f"image {src!r} is too large ({im.width}x{im.height} = "
                        f"{im.width * im.height / 1e6:.0f} Mpx; the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} Mpx)"
                    )
                im.load()
                mode = im.mode
                transposed = im.getexif().get(0x0112, 1) not in (1, None)
                im2 = ImageOps.exif_transpose(im) if transposed else im
                arr16 = _load_16bit_colour(path) if mode in ("RGB", "RGBA") and _is_16bit(data) else None
                if arr16 is not None and not transposed:
                    arr, had_alpha = arr16, mode == "RGBA"
                else:
                    arr, had_alpha = _to_rgb_uint8(im2)
    except NonFiniteError as e:
        raise InputError(
            f"image {src!r} holds {e} non-finite pixel values (NaN or infinity); "
            "replace them (e.g. numpy.nan_to_num) before sending it"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(f"cannot read image {src!r}: not a supported image file ({e.__class__.__name__})") from None
    except Image.DecompressionBombError as e:  # pragma: no cover - caught above from the header
        raise InputError(f"image {src!r} is too large: {e}") from None
    if arr.shape[0] < 8 or arr.shape[1] < 8:
        raise InputError(f"image {src!r} is too small ({arr.shape[1]}x{arr.shape[0]}); need at least 8x8 pixels")
    return arr, LoadedImage(to_tensor(arr), src, mode, had_alpha, transposed)


def _is_16bit(data: bytes) -> bool:
    """PNG with bit depth 16 (IHDR byte 24), or a TIFF (checked by OpenCV)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24:
        return data[24] == 16
    return data[:4] in (b"II*\x00", b"MM\x00*")


def load_image(source: str | Path) -> LoadedImage:
    """Load a photo as a ``[1,3,H,W]`` float tensor (see :func:`load_rgb`)."""
    return load_rgb(source)[1]


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    """RGB uint8 ``[H,W,3]`` -> float32 ``[1,3,H,W]`` in [0,1]."""
    a = np.ascontiguousarray(arr)
    if not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """Float ``[1,3,H,W]`` / ``[3,H,W]`` in [0,1] -> RGB uint8 ``[H,W,3]`` (rounded)."""
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError("to_uint8 takes one image")
        t = t[0]
    return (t.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def mask_to_uint8(mask: torch.Tensor) -> np.ndarray:
    """Bool mask ``[1,1,H,W]``/``[H,W]`` -> uint8 ``[H,W]`` (255 = private)."""
    m = mask.reshape(mask.shape[-2], mask.shape[-1])
    return (m.cpu().numpy().astype(np.uint8)) * 255


def encode_png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def save_png(arr_or_tensor: np.ndarray | torch.Tensor, path: str | Path) -> Path:
    """Write a PNG atomically (temporary file + rename): no half-written file on failure."""
    arr = to_uint8(arr_or_tensor) if isinstance(arr_or_tensor, torch.Tensor) else arr_or_tensor
    return atomic_write_bytes(path, encode_png(arr))
