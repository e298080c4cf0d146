"""The separation reference: the best JPEG or WebP that an ideal channel code can carry.

Shannon's separation theorem pairs the best source code with a capacity-achieving channel
code. Here the channel code is ideal (``log2(1 + SNR)`` bits per complex channel use,
no errors), and the source code is the better of JPEG and WebP (Pillow; WebP at
``method=6``, its strongest) at the highest quality whose whole file fits the bit budget
(file size grows with quality, so a binary search over quality 0-100 finds it). When
nothing fits, the receiver gets nothing: that image counts as a mid-grey picture.

For Rayleigh fading the budget uses the capacity the link actually offers: per image
``k*log2(1+|h|^2 SNR)`` for block fading (a genie that knows ``h`` picks the rate) and
the ergodic ``k*E[log2(1+|h|^2 SNR)]`` for fast fading, both optimistic for separation.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from vlm_privsc.jscc.evaluate import psnr_per_image, ssim_per_image, to_tensor

CODECS = ("jpeg", "webp")
QUALITY_RANGE = {"jpeg": (1, 100), "webp": (0, 100)}


@dataclass(frozen=True)
class CodecPoint:
    """One coded version of an image: codec, quality, whole-file size in bits, PSNR, SSIM."""

    codec: str
    quality: int
    bits: int
    psnr_db: float
    ssim: float


class CodecLadder:
    """JPEG/WebP encodings of one uint8 HWC image, computed on demand and cached."""

    def __init__(self, image: np.ndarray, codecs: tuple[str, ...] = CODECS, webp_method: int = 6) -> None:
        self.image = np.asarray(image, dtype=np.uint8)
        self.codecs = codecs
        self.webp_method = webp_method
        self._x = to_tensor(self.image)
        self._cache: dict[tuple[str, int], tuple[int, bytes]] = {}
        self._points: dict[tuple[str, int], CodecPoint] = {}

    def size_bits(self, codec: str, quality: int) -> int:
        key = (codec, quality)
        if key not in self._cache:
            buf = io.BytesIO()
            pil = Image.fromarray(self.image)
            if codec == "jpeg":
                pil.save(buf, format="JPEG", quality=quality)
            else:
                pil.save(buf, format="WEBP", quality=quality, method=self.webp_method)
            data = buf.getvalue()
            self._cache[key] = (8 * len(data), data)
        return self._cache[key][0]

    def point(self, codec: str, quality: int) -> CodecPoint:
        key = (codec, quality)
        if key not in self._points:
            bits = self.size_bits(codec, quality)
            with Image.open(io.BytesIO(self._cache[key][1])) as im:
                y = to_tensor(np.asarray(im.convert("RGB")))
            self._points[key] = CodecPoint(codec, quality, bits, float(psnr_per_image(self._x, y)[0]),
                                           float(ssim_per_image(self._x, y)[0]))
        return self._points[key]

    def highest_quality_within(self, codec: str, budget_bits: float) -> int | None:
        """Binary search: the largest quality whose file fits (None if the lowest does not)."""
        lo, hi = QUALITY_RANGE[codec]
        if self.size_bits(codec, lo) > budget_bits:
            return None
        if self.size_bits(codec, hi) <= budget_bits:
            return hi
        while hi - lo > 1:  # invariant: lo fits, hi does not
            mid = (lo + hi) // 2
            if self.size_bits(codec, mid) <= budget_bits:
                lo = mid
            else:
                hi = mid
        return lo

    def best_within(self, budget_bits: float) -> CodecPoint | None:
        """The best (highest PSNR) codec at its highest fitting quality; None if nothing fits."""
        cands = []
        for codec in self.codecs:
            q = self.highest_quality_within(codec, budget_bits)
            if q is not None:
                cands.append(self.point(codec, q))
        return max(cands, key=lambda p: p.psnr_db) if cands else None

    def grey(self) -> CodecPoint:
        """What a receiver shows with zero bits: a mid-grey picture."""
        y = torch.full_like(self._x, 128 / 255)
        return CodecPoint("none", 0, 0, float(psnr_per_image(self._x, y)[0]), float(ssim_per_image(self._x, y)[0]))


def capacity_bits(channel_uses: int, snr_db: float, channel: str = "awgn", mode: str = "block",
                  rng: np.random.Generator | None = None) -> float:
    """Bit budget of an ideal code over ``channel_uses`` complex uses (see module docstring)."""
    snr = 10 ** (snr_db / 10)
    if channel == "awgn":
        return channel_uses * math.log2(1 + snr)
    if mode == "block":
        rng = rng or np.random.default_rng(0)
        g = rng.exponential(1.0)  # |h|^2 of h ~ CN(0,1)
        return channel_uses * math.log2(1 + g * snr)
    return channel_uses * ergodic_rayleigh_capacity(snr_db)


@functools.lru_cache(maxsize=64)
def ergodic_rayleigh_capacity(snr_db: float) -> float:
    """``E[log2(1 + |h|^2 SNR)]`` for ``h ~ CN(0,1)`` (numerical integration, bits/use)."""
    snr = 10 ** (snr_db / 10)
    g = np.linspace(0, 50, 500_001)[1:]
    return float(np.trapezoid(np.log2(1 + g * snr) * np.exp(-g), g))
