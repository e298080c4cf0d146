"""The shared secret of the transmitter and Bob, and everything derived from it.

Threat model (Kerckhoffs): the eavesdropper knows the code, the default database, the
presets, the shipped weights and everything sent in clear; only the 256-bit key is
secret. Every keyed part derives its own subkey from it with HKDF-SHA256 (RFC 5869)
for one purpose and one message nonce, through the ``cryptography`` package; nothing
here is hand-written cryptography:

- :func:`subkey`: ``HKDF(key, salt=nonce, info="vlm-privsc/v1/<purpose>")``;
- :func:`keystream`: AES-256-CTR output under a subkey, the source of every keyed
  random choice (:func:`keyed_permutation` for the feature shuffle, :func:`keyed_orthogonal`
  for the text-embedding transform);
- :func:`seal` / :func:`open_sealed`: AES-256-GCM with associated data (the database
  digest binds a header to the database both ends hold). A wrong key, another database
  or one flipped bit is :class:`KeyError_` ("authentication failed"), never garbage.

Key files hold one line ``vlmsc-key-v1:<64 hex digits>`` and are written with mode 0600.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vlm_privsc.errors import InputError

KEY_BYTES = 32
NONCE_BYTES = 12  # AES-GCM nonce; also the HKDF salt of a message
TAG_BYTES = 16
_PREFIX = "vlmsc-key-v1:"
KEY_ENV = "VLMSC_KEY"
DEMO_KEY_HEX = "00" * KEY_BYTES
"""The public demo key (``--demo-key``): everyone has it, so it protects nothing."""


class KeyError_(InputError):  # KeyError is a builtin
    """A key is missing, unreadable, or does not open what it is given."""


@dataclass(frozen=True)
class SharedKey:
    """A 256-bit shared secret (never printed: ``repr`` shows only whether it is the demo key)."""

    secret: bytes = field(repr=False)
    demo: bool = False

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise KeyError_(f"a key has {KEY_BYTES} bytes, got {len(self.secret)}")

    @classmethod
    def generate(cls) -> SharedKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_material(cls, material: bytes) -> SharedKey:
        """A key from other secret material (e.g. a scheme's ``key`` parameter in the
        literature reproductions): SHA-256 of it, domain-separated."""
        import hashlib

        return cls(hashlib.sha256(b"vlm-privsc/v1/key-material|" + material).digest())

    @classmethod
    def demo_key(cls) -> SharedKey:
        """The public demo key: for trying the tool, never for a privacy claim."""
        return cls(bytes.fromhex(DEMO_KEY_HEX), demo=True)

    def to_text(self) -> str:
        return f"{_PREFIX}{self.secret.hex()}\n"

    @classmethod
    def from_text(cls, text: str, where: str = "key") -> SharedKey:
        t = text.strip()
        if not t.startswith(_PREFIX):
            raise KeyError_(
                f"{where}: not a vlm-privsc key (expected a line '{_PREFIX}<64 hex digits>'; "
                "make one with `vlmsc key new --out FILE`)"
            )
        try:
            raw = bytes.fromhex(t[len(_PREFIX) :])
        except ValueError:
            raise KeyError_(f"{where}: the key is not hexadecimal") from None
        if len(raw) != KEY_BYTES:
            raise KeyError_(f"{where}: the key has {len(raw)} bytes, expected {KEY_BYTES}")
        return cls(raw, demo=raw.hex() == DEMO_KEY_HEX)

    def fingerprint(self) -> str:
        """A public 8-hex-digit name of the key (HKDF of it, reveals nothing useful)."""
        return subkey(self, "fingerprint", b"", 4).hex()


def write_key(key: SharedKey, path: str | os.PathLike[str]) -> Path:
    """Write ``key`` to a new file with mode 0600 (an existing file is never overwritten)."""
    from vlm_privsc.io.atomic import atomic_write_bytes

    p = Path(path)
    if p.exists():
        raise KeyError_(f"{p}: exists; a key file is never overwritten (remove it first)")
    return atomic_write_bytes(p, key.to_text().encode("ascii"), mode=0o600)


def load_key(path: str | os.PathLike[str] | None = None, *, demo: bool = False) -> SharedKey:
    """The key from ``path``, else from ``$VLMSC_KEY`` (a key line or a file path), else the
    demo key when ``demo``; otherwise one clear error saying how to make one."""
    if path is not None:
        p = Path(path)
        try:
            return SharedKey.from_text(p.read_text(encoding="ascii"), str(p))
        except FileNotFoundError:
            raise KeyError_(f"key file {str(p)!r} not found; make one with `vlmsc key new --out {p}`") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyError_(f"key file {str(p)!r} is unreadable: {exc}") from None
    env = os.environ.get(KEY_ENV)
    if env:
        if env.strip().startswith(_PREFIX):
            return SharedKey.from_text(env, f"${KEY_ENV}")
        return load_key(env)
    if demo:
        return SharedKey.demo_key()
    raise KeyError_(
        "this needs the shared key: make one with `vlmsc key new --out bob.key` and pass "
        f"--key bob.key (or set {KEY_ENV}), or --demo-key to run with a public demo key"
    )


def subkey(key: SharedKey, purpose: str, nonce: bytes, length: int = KEY_BYTES) -> bytes:
    """HKDF-SHA256 of the key for one ``purpose`` and one message ``nonce``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=nonce or None, info=f"vlm-privsc/v1/{purpose}".encode()
    ).derive(key.secret)


def keystream(key: SharedKey, purpose: str, nonce: bytes, n: int) -> bytes:
    """``n`` pseudorandom bytes: AES-256-CTR under :func:`subkey` (counter block from zero)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(subkey(key, purpose, nonce)), modes.CTR(b"\0" * 16)).encryptor()
    return enc.update(b"\0" * n) + enc.finalize()


def _uniform(key: SharedKey, purpose: str, nonce: bytes, n: int) -> np.ndarray:
    """``n`` uniforms in (0, 1) from 53-bit chunks of the keystream."""
    words = np.frombuffer(keystream(key, purpose, nonce, 8 * n), dtype=">u8").astype(np.uint64)
    return ((words >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def keyed_permutation(key: SharedKey, purpose: str, nonce: bytes, n: int) -> torch.Tensor:
    """A permutation of ``n`` items: the order of ``n`` 64-bit words of the keystream
    (a random-keys shuffle; two equal words, probability below n^2 / 2^65, keep index order)."""
    words = np.frombuffer(keystream(key, purpose, nonce, 8 * n), dtype=">u8").astype(np.uint64)
    return torch.from_numpy(np.argsort(words, kind="stable").astype(np.int64))


def keyed_orthogonal(key: SharedKey, purpose: str, nonce: bytes, dim: int) -> torch.Tensor:
    """A Haar-random ``[dim, dim]`` orthogonal matrix: QR of Gaussians (Box-Muller on the
    keystream), signs fixed by R's diagonal (Mezzadri 2007)."""
    m = dim * dim
    u = _uniform(key, purpose, nonce, 2 * ((m + 1) // 2)).reshape(2, -1)
    r = np.sqrt(-2.0 * np.log(u[0]))
    g = np.concatenate([r * np.cos(2 * np.pi * u[1]), r * np.sin(2 * np.pi * u[1])])[:m].reshape(dim, dim)
    q, rr = torch.linalg.qr(torch.from_numpy(g))  # torch: honours the process's thread setting
    return (q * torch.sign(torch.diagonal(rr))[None, :]).float()


def new_nonce() -> bytes:
    """A fresh random message nonce (public; sent in clear with the sealed header)."""
    return secrets.token_bytes(NONCE_BYTES)


def seal(key: SharedKey, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """AES-256-GCM of ``plaintext`` under the header subkey, bound to ``associated``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(subkey(key, "header", b"")).encrypt(nonce, plaintext, associated)


def open_sealed(key: SharedKey, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
    """Inverse of :func:`seal`; a wrong key, other associated data or any flipped bit raises."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(subkey(key, "header", b"")).decrypt(nonce, sealed, associated)
    except InvalidTag:
        raise KeyError_(
            "header authentication failed: the receiver holds another key or another "
            "database, or the header was altered"
        ) from None


def optional_key(path: str | Path | None) -> SharedKey | None:
    """A script's ``--key FILE``: the key in it, or None for a fresh random key known to no
    one (the Kerckhoffs default of the benchmarks: Eve never holds it)."""
    return load_key(path) if path else None
