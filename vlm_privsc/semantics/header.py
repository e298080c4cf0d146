"""The digital side information of one message: a clear part and a sealed part.

::

    clear   (anyone may read it; the geometry of what was removed is NOT protected)
        nonce (12 B) | height, width (2 x 16 bit) | private mask (1 bit a pixel, zlib)
    sealed  (AES-256-GCM under the shared key, the database digest and the clear part as
             associated data: only Bob reads it, and any change to either part is detected)
        count | per region: its mask's box (4 x 16 bit), category id (8 bit),
                attribute indices (8 bit each)

The mask must stay in clear: every receiver needs it to decode the mask-aware image code
(which symbols were not sent). What a region *is* (its category), its attributes and
which part of the mask belongs to which region travel sealed. Bit costs, including the
nonce and the 128-bit tag, are counted in the report.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vlm_privsc.errors import InputError
from vlm_privsc.keys import NONCE_BYTES, TAG_BYTES, SharedKey, open_sealed, seal
from vlm_privsc.semantics.attributes import ATTRIBUTES


@dataclass(frozen=True)
class RegionInfo:
    """What the sealed header says about one removed region."""

    box: tuple[int, int, int, int]
    """``(x0, y0, x1, y1)`` of the region's mask at the transmitted resolution."""
    category_id: int
    attributes: dict[str, str]


@dataclass(frozen=True)
class SealedHeader:
    """A header as sent: the clear bytes and the sealed bytes."""

    nonce: bytes
    clear: bytes
    sealed: bytes

    def bits(self) -> dict[str, int]:
        """Bit cost by part (``total`` included)."""
        parts = {
            "nonce": 8 * NONCE_BYTES,
            "mask": 8 * (len(self.clear) - NONCE_BYTES),
            "sealed_regions": 8 * (len(self.sealed) - TAG_BYTES),
            "tag": 8 * TAG_BYTES,
        }
        parts["total"] = sum(parts.values())
        return parts

    def mask(self) -> torch.Tensor:
        """The private mask ``[1,1,H,W]`` (bool) from the clear part."""
        h, w = struct.unpack(">HH", self.clear[NONCE_BYTES : NONCE_BYTES + 4])
        try:
            bits = np.unpackbits(np.frombuffer(zlib.decompress(self.clear[NONCE_BYTES + 4 :]), np.uint8))
        except zlib.error:
            raise InputError("header: the mask of the clear part is corrupt") from None
        return torch.from_numpy(bits[: h * w].reshape(h, w).astype(bool))[None, None]

    def open(self, key: SharedKey, db_digest: str, attribute_names: Sequence[str]) -> list[RegionInfo]:
        """Bob: the regions from the sealed part (raises :class:`~vlm_privsc.keys.KeyError_`
        for another key, another database or a tampered header)."""
        plain = open_sealed(key, self.nonce, self.sealed, _aad(db_digest, self.clear))
        (n,) = struct.unpack(">H", plain[:2])
        k = len(attribute_names)
        size = 9 + k
        out = []
        for i in range(n):
            rec = plain[2 + i * size : 2 + (i + 1) * size]
            x0, y0, x1, y1, cid = struct.unpack(">HHHHB", rec[:9])
            attrs = {}
            for name, idx in zip(attribute_names, rec[9:]):
                if idx != 255:
                    attrs[name] = ATTRIBUTES[name].names[idx]
            out.append(RegionInfo((x0, y0, x1, y1), cid, attrs))
        return out


def _aad(db_digest: str, clear: bytes) -> bytes:
    return b"vlm-privsc/v1/header|" + db_digest.encode("ascii") + b"|" + clear


def region_box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of a bool ``[1,1,H,W]`` mask (exclusive ends; zeros if empty)."""
    m = mask[0, 0].numpy()
    ys, xs = np.nonzero(m)
    if ys.size == 0:
        return (0, 0, 0, 0)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def build_header(
    key: SharedKey,
    nonce: bytes,
    db_digest: str,
    mask: torch.Tensor,
    regions: Sequence[RegionInfo],
    attribute_names: Sequence[str],
) -> SealedHeader:
    """Pack and seal one message's header (see the module docstring)."""
    if len(nonce) != NONCE_BYTES:
        raise InputError(f"header nonce must have {NONCE_BYTES} bytes, got {len(nonce)}")
    m = mask[0, 0].cpu().numpy().astype(np.uint8)
    h, w = m.shape
    clear = nonce + struct.pack(">HH", h, w) + zlib.compress(np.packbits(m).tobytes(), 9)
    body = [struct.pack(">H", len(regions))]
    for r in regions:
        body.append(struct.pack(">HHHHB", *r.box, r.category_id))
        body.append(
            bytes(ATTRIBUTES[n].names.index(r.attributes[n]) if n in r.attributes else 255 for n in attribute_names)
        )
    return SealedHeader(nonce, clear, seal(key, nonce, b"".join(body), _aad(db_digest, clear)))
