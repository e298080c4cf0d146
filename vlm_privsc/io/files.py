"""Reading input files with the limits a careful user wants: only regular files (a FIFO
or a device such as ``/dev/zero`` would block or never end), and at most a stated size,
checked before anything is read into memory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vlm_privsc.errors import InputError


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def check_input_file(path: Path, what: str, max_bytes: int) -> int:
    """The size of ``path`` after checking it is a readable regular file of at most
    ``max_bytes``; otherwise one :class:`InputError` line naming the file."""
    src = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} {src!r} not found") from None
    except OSError as e:
        raise InputError(f"cannot read {what} {src!r}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what} {src!r} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} {src!r} is not a regular file (a pipe, socket or device is refused)")
    if st.st_size > max_bytes:
        raise InputError(f"{what} {src!r} is too large ({_mib(st.st_size)}; the limit is {_mib(max_bytes)})")
    return int(st.st_size)


def read_input_bytes(path: Path, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (see :func:`check_input_file`)."""
    check_input_file(path, what, max_bytes)
    try:
        with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NONBLOCK)) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as e:
        raise InputError(f"cannot read {what} {str(path)!r}: {e.strerror or e}") from None
    if len(data) > max_bytes:  # grew while being read
        raise InputError(f"{what} {str(path)!r} is too large (the limit is {_mib(max_bytes)})")
    return data
