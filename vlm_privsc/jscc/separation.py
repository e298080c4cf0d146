"""The separation reference: the best image codec that an ideal channel code can carry.

Shannon's separation theorem pairs the best source code with a capacity-achieving channel
code. Here the channel code is ideal (``log2(1 + SNR)`` bits per complex channel use,
no errors), and the source code is the best of several codecs at the highest quality
whose whole file fits the bit budget (file size grows with quality, so a binary search
over the quality finds it). When nothing fits, the receiver gets nothing: that image
counts as a mid-grey picture. No practical system reaches this reference: it assumes an
error-free code at capacity for finite blocks.

Codecs (all through Pillow unless noted):

- ``jpeg``; ``webp`` at ``method=6`` (its strongest): the original reference (``CODECS``);
- ``jpeg2000``: OpenJPEG, 9/7 wavelet, colour transform on (``mct=1``; Pillow's default
  leaves it off, about 3 dB worse), rate-targeted to the budget instead of a quality search;
- ``avif``: AV1 intra (Pillow >= 11.2 writes it), quality search;
- ``heic``: HEVC intra through ``pillow-heif`` (x265, the coding BPG uses), quality search,
  x265 preset ``fast`` by default (``slow``, libheif's default, is 2x slower for files
  about 5 % smaller).

For Rayleigh fading the budget uses the capacity the link actually offers: per image
``k*log2(1+|h|^2 SNR)`` for block fading (a genie that knows ``h`` picks the rate) and
the ergodic ``k*E[log2(1+|h|^2 SNR)]`` for fast fading, both optimistic for separation.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vlm_privsc.jscc.evaluate import to_tensor
from vlm_privsc.measure.quality import psnr_per_image, ssim_per_image

CODECS = ("jpeg", "webp")  # the original reference, kept as a column of the benchmark
STRONG_CODECS = ("jpeg", "webp", "jpeg2000", "avif", "heic")
QUALITY_RANGE = {"jpeg": (1, 100), "webp": (0, 100), "avif": (0, 100), "heic": (0, 100)}
HEIC_PRESET = "fast"


def codec_available(codec: str) -> bool:
    """Whether this Python can write ``codec`` (Pillow features; ``pillow-heif`` for heic)."""
    from PIL import features

    if codec in ("jpeg", "webp"):
        return True
    if codec == "jpeg2000":
        return bool(features.check("jpg_2000"))
    if codec == "avif":
        return bool(features.check("avif"))
    if codec == "heic":
        try:
            import pillow_heif  # noqa: F401
        except ImportError:
            return False
        return True
    return False


def check_codecs(codecs: tuple[str, ...]) -> None:
    """One clear :class:`InputError` for an unknown or unavailable codec."""
    from vlm_privsc.errors import InputError

    for c in codecs:
        if c not in STRONG_CODECS:
            raise InputError(f"unknown separation codec {c!r}; choose from {', '.join(STRONG_CODECS)}")
        if not codec_available(c):
            how = "pip install pillow-heif" if c == "heic" else "a Pillow built with it (pip install -U pillow)"
            raise InputError(
                f"separation codec {c!r} is not available here: install {how}, or leave it out of --sep-codecs"
            )


def _encode(image: Image.Image, codec: str, quality: int, webp_method: int, heic_preset: str) -> bytes:
    buf = io.BytesIO()
    if codec == "jpeg":
        image.save(buf, format="JPEG", quality=quality)
    elif codec == "webp":
        image.save(buf, format="WEBP", quality=quality, method=webp_method)
    elif codec == "avif":
        image.save(buf, format="AVIF", quality=quality)
    elif codec == "heic":
        _heif_opener()
        image.save(buf, format="HEIF", quality=quality, enc_params={"preset": heic_preset})
    else:
        raise ValueError(f"no quality search for codec {codec!r}")
    return buf.getvalue()


def _encode_j2k(image: Image.Image, ratio: float) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG2000", quality_mode="rates", quality_layers=[ratio], irreversible=True, mct=1)
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def _heif_opener() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _decode(data: bytes) -> np.ndarray:
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        _heif_opener()
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@dataclass(frozen=True)
class CodecPoint:
    """One coded version of an image: codec, quality, whole-file size in bits, PSNR, SSIM."""

    codec: str
    quality: int
    bits: int
    psnr_db: float
    ssim: float | None  # None in a disk cache written before SSIM was recorded


class CodecLadder:
    """Encodings of one uint8 HWC image by several codecs, computed on demand and cached.

    ``codecs``: the codecs :meth:`best_within` may use (default: JPEG and WebP, the
    original reference); :meth:`best_within` takes a subset per call, so one ladder serves
    the JPEG/WebP column and the strongest reference. JPEG 2000 points carry ten times
    their compression ratio as ``quality``.
    """

    def __init__(
        self,
        image: np.ndarray,
        codecs: tuple[str, ...] = CODECS,
        webp_method: int = 6,
        heic_preset: str = HEIC_PRESET,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.image = np.asarray(image, dtype=np.uint8)
        self.codecs = tuple(codecs)
        self.webp_method = webp_method
        self.heic_preset = heic_preset
        self._pil = Image.fromarray(self.image)
        self._x = to_tensor(self.image)
        self._cache: dict[tuple[str, int], tuple[int, bytes | None]] = {}
        self._points: dict[tuple[str, int], CodecPoint] = {}
        self._disk = _DiskCache(cache_dir, self.image, webp_method, heic_preset) if cache_dir else None
        if self._disk:
            self._cache.update({k: (v[0], None) for k, v in self._disk.items.items()})
            self._points.update(
                {k: CodecPoint(k[0], k[1], v[0], v[1], v[2]) for k, v in self._disk.items.items() if v[1] is not None}
            )

    def _data(self, codec: str, quality: int) -> bytes:
        """The coded file (encoded again when only its size came from the disk cache)."""
        key = (codec, quality)
        if key not in self._cache or self._cache[key][1] is None:
            data = (
                _encode_j2k(self._pil, quality / 10)
                if codec == "jpeg2000"
                else _encode(self._pil, codec, quality, self.webp_method, self.heic_preset)
            )
            self._cache[key] = (8 * len(data), data)
            if self._disk:
                self._disk.put(key, 8 * len(data))
        cached = self._cache[key][1]
        assert cached is not None
        return cached

    def size_bits(self, codec: str, quality: int) -> int:
        key = (codec, quality)
        if key not in self._cache:
            self._data(codec, quality)
        return self._cache[key][0]

    def point(self, codec: str, quality: int) -> CodecPoint:
        key = (codec, quality)
        if key not in self._points:
            data = self._data(codec, quality)
            y = to_tensor(_decode(data))
            self._points[key] = CodecPoint(
                codec,
                quality,
                8 * len(data),
                float(psnr_per_image(self._x, y)[0]),
                float(ssim_per_image(self._x, y)[0]),
            )
            if self._disk:
                p = self._points[key]
                self._disk.put(key, p.bits, p.psnr_db, p.ssim)
        return self._points[key]

    def highest_quality_within(self, codec: str, budget_bits: float) -> int | None:
        """Binary search: the largest quality whose file fits (None if the lowest does not).
        For ``jpeg2000``: the rate-targeted point's ``quality`` (see :meth:`j2k_within`)."""
        if codec == "jpeg2000":
            return self.j2k_within(budget_bits)
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

    def _j2k_bits(self, q: int) -> int:
        return self.size_bits("jpeg2000", q)

    def j2k_within(self, budget_bits: float, tries: int = 6) -> int | None:
        """JPEG 2000 aimed at the budget: compression ratio ``raw / budget``, raised until the
        file fits; returns ten times that ratio (None if even ratio 2,000 does not fit)."""
        raw = self.image.size * 8
        if budget_bits >= raw:
            q = 10
        else:
            q = max(10, math.ceil(10 * raw / budget_bits))
        for _ in range(tries):
            bits = self._j2k_bits(q)
            if bits <= budget_bits:
                return q
            if q >= 20_000:
                return None
            q = min(20_000, max(q + 1, math.ceil(q * bits / budget_bits * 1.01)))
        return None

    def best_within(self, budget_bits: float, codecs: tuple[str, ...] | None = None) -> CodecPoint | None:
        """The best (highest PSNR) codec at its highest fitting quality; None if nothing fits."""
        cands = []
        for codec in codecs or self.codecs:
            q = self.highest_quality_within(codec, budget_bits)
            if q is not None:
                cands.append(self.point(codec, q))
        return max(cands, key=lambda p: p.psnr_db) if cands else None

    def grey(self) -> CodecPoint:
        """What a receiver shows with zero bits: a mid-grey picture."""
        y = torch.full_like(self._x, 128 / 255)
        return CodecPoint("none", 0, 0, float(psnr_per_image(self._x, y)[0]), float(ssim_per_image(self._x, y)[0]))


class _DiskCache:
    """Sizes, PSNR and SSIM of one image's coded versions, kept in a JSON file across runs.

    Keyed by the image's bytes, the codec settings and the codec library versions, so a
    changed image or library never reuses old numbers."""

    def __init__(self, folder: str | os.PathLike[str], image: np.ndarray, webp_method: int, heic_preset: str) -> None:
        import PIL

        try:
            import pillow_heif

            heif_v = pillow_heif.__version__
        except ImportError:
            heif_v = "none"
        h = hashlib.sha1(image.tobytes())
        h.update(f"{image.shape}|webp{webp_method}|heic-{heic_preset}|pil{PIL.__version__}|heif{heif_v}|v1".encode())
        self.path = Path(folder) / f"{h.hexdigest()[:20]}.json"
        self.items: dict[tuple[str, int], tuple[int, float | None, float | None]] = {}
        if self.path.is_file():
            try:
                for k, v in json.loads(self.path.read_text()).items():
                    c, q = k.split(":")
                    self.items[(c, int(q))] = (int(v[0]), v[1], v[2])
            except (ValueError, OSError, IndexError):
                self.items = {}

    def put(self, key: tuple[str, int], bits: int, psnr: float | None = None, ssim: float | None = None) -> None:
        old = self.items.get(key)
        if old and old[1] is not None and psnr is None:
            return
        self.items[key] = (bits, psnr, ssim)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({f"{c}:{q}": list(v) for (c, q), v in self.items.items()}))
        os.replace(tmp, self.path)


def capacity_bits(
    channel_uses: int, snr_db: float, channel: str = "awgn", mode: str = "block", rng: np.random.Generator | None = None
) -> float:
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
