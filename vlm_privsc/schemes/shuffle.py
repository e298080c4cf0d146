"""DeepJSCC-Encryption: key-guided shuffling of the transmitted features.

Reference: the DeepJSCC-Encryption baseline of Wang et al., IEEE TWC 2024
(arXiv:2312.03252) — the transmitter permutes the features with a permutation derived
from a secret shared with the legitimate receiver, who applies the inverse.

::

    z [B,k] --(reals)--> x[perm_i]  with  perm_i = order of the AES-CTR keystream of
                         HKDF(key, "shuffle", nonce_i || n)   (vlm_privsc.keys)
    Bob:  y[inv_perm_i]          Eve (no key): y as received

In the pipeline the key is the shared secret of the transmitter and Bob
(:class:`~vlm_privsc.keys.SharedKey`, bound with :meth:`KeyedShuffle.with_key`); the
literature reproductions pass their own secret material as ``key``. There is no default
key: an unbound scheme refuses to run.

``per_message=True`` (default) derives a fresh permutation for every image from a
64-bit nonce drawn from the generator (sent in the clear; Bob draws it from a generator
in the same state). Without it (``per_message=False``) one fixed permutation is used
for every image: an attacker with query access (pairs of images and intercepted
symbols) can then simply learn the inverse permutation — the reproduction measures
this. Shuffling preserves power exactly and commutes with i.i.d. AWGN, so Bob loses
nothing. ``domain="reals"`` permutes the ``2k`` real coordinates (mixing I and Q),
``"symbols"`` the ``k`` complex symbols.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from vlm_privsc.errors import ConfigError
from vlm_privsc.keys import SharedKey
from vlm_privsc.keys import keyed_permutation as _keyed_permutation
from vlm_privsc.schemes.base import SCHEMES, Scheme, check_symbols

Domain = Literal["reals", "symbols"]


KeyLike = SharedKey | int | str | bytes


def shared_key(key: KeyLike) -> SharedKey:
    """A :class:`SharedKey` as is; other secret material (ints as 16-byte big-endian, strings
    UTF-8, bytes) through :meth:`SharedKey.from_material`."""
    if isinstance(key, SharedKey):
        return key
    if isinstance(key, bool) or not isinstance(key, (int, str, bytes)):
        raise ConfigError(f"shuffle scheme: key must be a SharedKey, int, str or bytes, got {type(key).__name__}")
    if isinstance(key, int):
        return SharedKey.from_material(key.to_bytes(16, "big", signed=True))
    return SharedKey.from_material(key if isinstance(key, bytes) else key.encode("utf-8"))


def keyed_permutation(key: KeyLike, n: int, nonce: int = 0) -> Tensor:
    """The permutation of ``n`` items for ``(key, nonce)`` (:func:`vlm_privsc.keys.keyed_permutation`)."""
    return _keyed_permutation(shared_key(key), "shuffle", int(nonce).to_bytes(8, "big") + int(n).to_bytes(8, "big"), n)


@SCHEMES.register("shuffle")
class KeyedShuffle(Scheme):
    """Key-guided feature shuffling; ``invert`` (Bob, same key) undoes it exactly."""

    name = "shuffle"
    stage = "transmit"
    keyed = True

    def __init__(self, key: KeyLike | None = None, per_message: bool = True, domain: Domain = "reals") -> None:
        super().__init__()
        if key is not None:
            shared_key(key)  # validate
        if domain not in ("reals", "symbols"):
            raise ConfigError(f"shuffle scheme: domain must be 'reals' or 'symbols', got {domain!r}")
        self.key = key
        self.per_message = bool(per_message)
        self.domain: Domain = domain
        self._cache: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}

    def with_key(self, key: SharedKey) -> KeyedShuffle:
        """This scheme keyed by ``key`` (the pipeline binds the shared secret of each end)."""
        return KeyedShuffle(key=key, per_message=self.per_message, domain=self.domain)

    def _perm(self, n: int, nonce: int) -> tuple[Tensor, Tensor]:
        if self.key is None:
            raise ConfigError(
                "shuffle scheme: no key; the pipeline binds the shared key (--key FILE), a bare scheme needs key=..."
            )
        hit = self._cache.get((n, nonce))
        if hit is None:
            p = keyed_permutation(self.key, n, nonce)
            hit = (p, torch.argsort(p))
            if not self.per_message:
                self._cache[(n, nonce)] = hit
        return hit

    def nonces(self, batch: int, generator: torch.Generator | None) -> list[int]:
        """One public nonce per image (all 0 without ``per_message``)."""
        if not self.per_message:
            return [0] * batch
        return torch.randint(0, 2**62, (batch,), generator=generator).tolist()

    def _flat(self, z: Tensor) -> Tensor:
        return torch.view_as_real(z.to(torch.complex64)).reshape(z.shape[0], -1) if self.domain == "reals" else z

    def _unflat(self, f: Tensor) -> Tensor:
        if self.domain == "reals":
            return torch.view_as_complex(f.reshape(f.shape[0], -1, 2).contiguous())
        return f

    def _permute(self, z: Tensor, generator: torch.Generator | None, inverse: bool) -> Tensor:
        f = self._flat(z)
        n = f.shape[1]
        idx = torch.stack([self._perm(n, s)[1 if inverse else 0] for s in self.nonces(f.shape[0], generator)])
        return self._unflat(torch.gather(f, 1, idx.to(f.device)))

    def apply(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:  # type: ignore[override]
        check_symbols(z, self.name)
        return self._permute(z, generator, inverse=False)

    def invert(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        check_symbols(y, self.name)
        return self._permute(y, generator, inverse=True)

    def _params(self) -> dict[str, Any]:
        return {"per_message": self.per_message, "domain": self.domain}  # never the key
