"""Atomic file writes: write a temporary file beside the target, fsync, then rename.

A reader (or a crash) never sees a half-written output: the target either keeps its
old content or has the complete new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from vlm_privsc.errors import OutputError, os_error_line


def umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically. The file gets ``mode`` when given (e.g. 0o600
    for a key), otherwise what ``open()`` would give it: 0o666 less the user's umask
    (``mkstemp`` alone would leave every output readable by its owner only)."""
    path = Path(path)
    try:
        return _write(path, data, mode)
    except OSError as e:
        raise OutputError(f"cannot write {str(path)!r}: {os_error_line(e, with_path=False)}") from None


def _write(path: Path, data: bytes, mode: int | None) -> Path:
    for p in path.parents:
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(p))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, (0o666 & ~umask()) if mode is None else mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def encode_json(obj: Any) -> bytes:
    """The JSON bytes of every ``.json`` output (indented, UTF-8, a final newline)."""
    return (json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode("utf-8")


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_bytes(path, encode_json(obj))
