"""The separation reference: the best JPEG or WebP that an ideal channel code can carry.

Shannon's separation theorem pairs the best source code with a capacity-achieving channel
code. Here the channel code is ideal (``log2(1 + SNR)`` bits per complex channel use,
no errors), and the source code is the best of JPEG and WebP (Pillow, every quality)
whose whole file fits the bit budget. When nothing fits, the receiver gets nothing:
that image counts as a mid-grey picture and ``fits`` is False.

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

JPEG_QUALITIES = tuple(range(1, 101))
WEBP_QUALITIES = tuple(range(0, 101))


@dataclass(frozen=True)
class CodecPoint:
    codec: str
    quality: int
    bits: int
    psnr_db: float
    ssim: float


def rate_distortion(image: np.ndarray, codecs: tuple[str, ...] = ("jpeg", "webp"),
                    step: int = 1) -> list[CodecPoint]:
    """All (codec, quality) points of one uint8 HWC image: file size in bits, PSNR, SSIM."""
    pil = Image.fromarray(image)
    decoded: list[np.ndarray] = []
    meta: list[tuple[str, int, int]] = []
    for codec in codecs:
        qualities = JPEG_QUALITIES if codec == "jpeg" else WEBP_QUALITIES
        for q in qualities[::step]:
            buf = io.BytesIO()
            if codec == "jpeg":
                pil.save(buf, format="JPEG", quality=q)
            else:
                pil.save(buf, format="WEBP", quality=q, method=6)
            data = buf.getvalue()
            with Image.open(io.BytesIO(data)) as im:
                decoded.append(np.asarray(im.convert("RGB")))
            meta.append((codec, q, 8 * len(data)))
    x = to_tensor(image)
    points = []
    for i in range(0, len(decoded), 32):
        y = to_tensor(np.stack(decoded[i:i + 32]))
        xs = x.expand(y.shape[0], -1, -1, -1)
        p = psnr_per_image(xs, y)
        s = ssim_per_image(xs, y)
        for j in range(y.shape[0]):
            c, q, b = meta[i + j]
            points.append(CodecPoint(c, q, b, float(p[j]), float(s[j])))
    return points


def grey_point(image: np.ndarray) -> CodecPoint:
    """What a receiver shows with zero bits: a mid-grey picture."""
    x = to_tensor(image)
    y = torch.full_like(x, 128 / 255)
    return CodecPoint("none", 0, 0, float(psnr_per_image(x, y)[0]), float(ssim_per_image(x, y)[0]))


def best_within(points: list[CodecPoint], budget_bits: float) -> CodecPoint | None:
    """The highest-PSNR point whose file fits ``budget_bits`` (None if nothing fits)."""
    fit = [p for p in points if p.bits <= budget_bits]
    return max(fit, key=lambda p: p.psnr_db) if fit else None


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
