from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from vlm_privsc.db import load_db
from vlm_privsc.keys import SharedKey
from vlm_privsc.semantics.transport import (
    EavesdropperVocabulary,
    SemanticCodebook,
    from_symbols,
    message_rotation,
    to_symbols,
)


class BagOfWords:
    """A tiny deterministic embedder for fast tests (hashing trick over words)."""

    name = "bow"
    dim = 64

    def encode(self, texts):
        out = torch.zeros(len(texts), self.dim)
        for i, t in enumerate(texts):
            for wd in t.lower().replace(",", " ").split():
                h = int(hashlib.md5(wd.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
        return torch.nn.functional.normalize(out + 1e-6, dim=-1)


def test_symbols_roundtrip_and_power():
    v = torch.nn.functional.normalize(torch.randn(3, 10, generator=torch.Generator().manual_seed(0)), dim=-1)
    s = to_symbols(v)
    assert s.dtype == torch.complex64 and s.numel() == 15
    assert abs(float((s.abs() ** 2).mean()) - 1.0) < 1e-5
    back = from_symbols(s, 3, 10)
    assert torch.allclose(torch.nn.functional.normalize(back, dim=-1), v, atol=1e-6)


def test_message_rotation_is_orthogonal_and_keyed():
    k1, k2 = SharedKey(b"\1" * 32), SharedKey(b"\2" * 32)
    q = message_rotation(k1, b"n" * 12, 16)
    assert torch.allclose(q @ q.T, torch.eye(16), atol=1e-5)
    assert torch.equal(q, message_rotation(k1, b"n" * 12, 16))
    assert not torch.allclose(q, message_rotation(k2, b"n" * 12, 16))  # another key
    assert not torch.allclose(q, message_rotation(k1, b"m" * 12, 16))  # another message


def test_bob_snaps_and_eve_without_key_does_not():
    db = load_db()
    emb = BagOfWords()
    cb = SemanticCodebook(db, emb, keyed=True)
    cats = ["face", "license_plate", "text"]
    rot = cb.rotation(SharedKey(b"\7" * 32), b"n" * 12)
    sym = cb.transmit(cats, rot)
    assert sym.numel() == 3 * cb.symbols_per_region()
    g = torch.Generator().manual_seed(1)
    noisy = sym + 0.1 * torch.complex(torch.randn(sym.shape, generator=g), torch.randn(sym.shape, generator=g))
    got = cb.receive(noisy, 3, rot)
    assert [d.category for d in got] == cats
    assert got[0].prompt == db.categories["face"].inpaint_prompt
    # without the key the vector is in an unknown basis: Eve's similarities are low
    eve = EavesdropperVocabulary(emb, sorted(db.categories)).receive(noisy, 3)
    plain = SemanticCodebook(db, emb, keyed=False)
    eve_plain = EavesdropperVocabulary(emb, sorted(db.categories)).receive(plain.transmit(cats), 3)
    assert np.mean([d.similarity for d in eve]) < np.mean([d.similarity for d in eve_plain])


@pytest.mark.slow
def test_minilm_embedder_is_real_and_offline():
    from vlm_privsc.semantics import EMBEDDERS

    e = EMBEDDERS.build("minilm")
    v = e.encode(["a human face", "the face of a person", "a licence plate on a car"])
    assert v.shape == (3, 384)
    assert torch.allclose(v.norm(dim=1), torch.ones(3), atol=1e-5)
    sims = v @ v.T
    assert float(sims[0, 1]) > float(sims[0, 2]) + 0.2
