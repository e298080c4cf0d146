"""Sending the text embedding of the removed content, and aligning it at the receiver.

::

    region category --prompt--> embedder --e [D]--> keyed rotation Q(digest) --> D/2 complex
    symbols (power 1) --channel--> Bob: Q^T, snap to the nearest database prompt (cosine)
                                   Eve: no database, no Q: nearest of her own label guesses

Each removed region's category is described by its database inpainting prompt. The
vector travels as analog symbols over the same channel as the image and is counted in
the bandwidth. The rotation is an orthogonal matrix drawn from a generator seeded by
the database digest: it preserves distances, so Bob (who holds the database) loses
nothing, while a listener without the database sees a vector in an unknown basis.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vlm_privsc.db.schema import PrivacyDB
from vlm_privsc.semantics.base import TextEmbedder


def keyed_rotation(digest: str, dim: int) -> torch.Tensor:
    """A ``[dim, dim]`` orthogonal matrix seeded by the database digest (Haar via QR)."""
    g = torch.Generator().manual_seed(int(digest[:15], 16))
    a = torch.randn(dim, dim, generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q.float()


def to_symbols(vectors: torch.Tensor) -> torch.Tensor:
    """``[R, D]`` real (unit rows) -> ``[R*D/2]`` complex symbols of average power 1."""
    r, d = vectors.shape
    if d % 2:
        vectors = torch.nn.functional.pad(vectors, (0, 1))
        d += 1
    v = vectors.reshape(r, d // 2, 2) * (d / 2) ** 0.5 / vectors.norm(dim=1).clamp_min(1e-12)[:, None, None]
    return torch.complex(v[..., 0], v[..., 1]).reshape(-1)


def from_symbols(symbols: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Inverse of :func:`to_symbols` (up to scale): ``[n, dim]`` real."""
    if n == 0:
        return torch.zeros(0, dim)
    d = dim + (dim % 2)
    v = torch.stack([symbols.real, symbols.imag], dim=-1).reshape(n, d)[:, :dim]
    return v.float()


@dataclass(frozen=True)
class SemanticDecision:
    """What a receiver recovered from one region's received vector."""

    category: str | None
    prompt: str | None
    similarity: float
    embedding: torch.Tensor


def _snap(
    vectors: torch.Tensor, table: torch.Tensor, names: Sequence[str], prompts: Sequence[str] | None
) -> list[SemanticDecision]:
    """Each received vector's nearest table row (cosine): its name, prompt and similarity."""
    v = torch.nn.functional.normalize(vectors, dim=-1)
    sims = v @ table.T
    out = []
    for i in range(v.shape[0]):
        j = int(sims[i].argmax())
        out.append(SemanticDecision(names[j], prompts[j] if prompts else None, float(sims[i, j]), v[i]))
    return out


class SemanticCodebook:
    """The database's prompts embedded once: the transmitter's source and Bob's codebook."""

    def __init__(self, db: PrivacyDB, embedder: TextEmbedder, keyed: bool = True) -> None:
        self.db = db
        self.embedder = embedder
        self.keyed = keyed
        self.names = sorted(db.categories)
        self.prompts = [db.categories[n].inpaint_prompt for n in self.names]
        self.table = embedder.encode(self.prompts)  # [C, D]
        self.dim = int(self.table.shape[1])
        self.rotation = keyed_rotation(db.digest(), self.dim) if keyed else torch.eye(self.dim)

    def transmit(self, categories: Sequence[str]) -> torch.Tensor:
        """Complex symbols for the regions' categories (rotated by the key)."""
        if not categories:
            return torch.zeros(0, dtype=torch.complex64)
        idx = [self.names.index(c) for c in categories]
        return to_symbols(self.table[idx] @ self.rotation.T)

    def symbols_per_region(self) -> int:
        return (self.dim + 1) // 2

    def receive(self, symbols: torch.Tensor, n: int) -> list[SemanticDecision]:
        """Bob: undo the rotation and snap each vector to the nearest database prompt."""
        return _snap(from_symbols(symbols, n, self.dim) @ self.rotation, self.table, self.names, self.prompts)


class EavesdropperVocabulary:
    """Eve knows the public embedder but not the database: she compares the vectors she
    intercepts with embeddings of generic labels she guesses (the category names)."""

    def __init__(self, embedder: TextEmbedder, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.table = embedder.encode([lab.replace("_", " ") for lab in self.labels])
        self.dim = int(self.table.shape[1])

    def receive(self, symbols: torch.Tensor, n: int) -> list[SemanticDecision]:
        return _snap(from_symbols(symbols, n, self.dim), self.table, self.labels, None)


def header_bits(
    boxes: Sequence[tuple[int, int, int, int]], category_ids: Sequence[int], n_categories: int, mask: np.ndarray,
    attribute_bits: int = 0,
) -> dict[str, int]:
    """Bit cost of the digital side information: region count, boxes (16 bits a
    coordinate), category ids, a 64-bit database digest prefix, the mask itself
    (1 bit a pixel, zlib-compressed) so the receiver knows exactly what to restore, and
    ``attribute_bits`` per region for the region attributes (``semantics.attributes``)."""
    id_bits = max(1, int(np.ceil(np.log2(max(2, n_categories)))))
    mask_bytes = zlib.compress(np.packbits(mask.astype(np.uint8)).tobytes(), 9)
    parts = {
        "count": 16,
        "boxes": 64 * len(boxes),
        "category_ids": id_bits * len(category_ids),
        "db_digest": 64,
        "mask": 8 * len(mask_bytes),
        "attributes": attribute_bits * len(boxes),
    }
    parts["total"] = sum(parts.values())
    return parts
