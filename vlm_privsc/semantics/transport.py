"""Sending the text embedding of the removed content, and aligning it at the receiver.

::

    region category --prompt--> embedder --e [D]--> keyed rotation Q(key, nonce) --> D/2 complex
    symbols (power 1) --channel--> Bob: Q^T, snap to the nearest database prompt (cosine)
                                   Eve: no key, no Q: nearest of her own label guesses

Each removed region's category is described by its database inpainting prompt. The
vector travels as analog symbols over the same channel as the image and is counted in
the bandwidth. The rotation is a Haar-random orthogonal matrix drawn from the AES-CTR
keystream of the shared key's "text-embedding" subkey for this message's nonce
(:func:`message_rotation`): it preserves distances, so Bob loses nothing, while anyone
without the key, even holding the database, sees a vector in an unknown basis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vlm_privsc.db.schema import PrivacyDB
from vlm_privsc.keys import SharedKey, keyed_orthogonal
from vlm_privsc.semantics.base import TextEmbedder


def message_rotation(key: SharedKey, nonce: bytes, dim: int) -> torch.Tensor:
    """The ``[dim, dim]`` orthogonal transform of one message's embeddings (see the module docstring)."""
    return keyed_orthogonal(key, "text-embedding", nonce, dim)


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
    source: str = "text"
    """Where the category came from: ``"text"`` (the received vector) or ``"shape"`` (the
    eavesdropper's guess from the clear mask, :mod:`vlm_privsc.semantics.shape`)."""


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

    def rotation(self, key: SharedKey | None, nonce: bytes) -> torch.Tensor:
        """This message's transform: keyed (``keyed`` and a key) or the identity."""
        return message_rotation(key, nonce, self.dim) if (self.keyed and key is not None) else torch.eye(self.dim)

    def transmit(self, categories: Sequence[str], rotation: torch.Tensor | None = None) -> torch.Tensor:
        """Complex symbols for the regions' categories (transformed by ``rotation``)."""
        if not categories:
            return torch.zeros(0, dtype=torch.complex64)
        idx = [self.names.index(c) for c in categories]
        v = self.table[idx]
        return to_symbols(v if rotation is None else v @ rotation.T)

    def symbols_per_region(self) -> int:
        return (self.dim + 1) // 2

    def receive(self, symbols: torch.Tensor, n: int, rotation: torch.Tensor | None = None) -> list[SemanticDecision]:
        """Bob: undo the rotation and snap each vector to the nearest database prompt."""
        v = from_symbols(symbols, n, self.dim)
        return _snap(v if rotation is None else v @ rotation, self.table, self.names, self.prompts)


class EavesdropperVocabulary:
    """Eve knows the public embedder but not the database: she compares the vectors she
    intercepts with embeddings of generic labels she guesses (the category names)."""

    def __init__(self, embedder: TextEmbedder, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.table = embedder.encode([lab.replace("_", " ") for lab in self.labels])
        self.dim = int(self.table.shape[1])

    def receive(self, symbols: torch.Tensor, n: int) -> list[SemanticDecision]:
        return _snap(from_symbols(symbols, n, self.dim), self.table, self.labels, None)
