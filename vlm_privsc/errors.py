"""Errors that the CLI turns into one clear line on stderr and exit code 2.

Anything raised as a :class:`VlmscError` is a problem with the user's input or
environment (unreadable image, bad YAML field, unknown policy, missing weights),
never a bug: its message is complete on its own and needs no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class VlmscError(Exception):
    """Base class: a user-facing error with a one-line message."""

    exit_code: int = 2


class InputError(VlmscError):
    """An input file is missing, unreadable or of an unsupported kind."""


class ConfigError(VlmscError):
    """A database, preset or option is invalid (names the file, field and problem)."""


class UnknownNameError(ConfigError):
    """A name (policy, category, backend) is not known; the message lists the valid ones."""


class MissingWeightsError(VlmscError):
    """Weights for a backend are not available locally; the message says how to provide them."""


class OutputError(VlmscError):
    """An output cannot be written (read-only or full disk, a path below a file, a folder
    of someone else's files, an output that would replace an input); nothing was changed."""


def os_error_line(e: OSError, with_path: bool = True) -> str:
    """An ``OSError`` as one line a user can act on: where (unless ``with_path`` is off), what."""
    import errno as _errno

    what = {
        _errno.ENOSPC: "no space left on the device",
        _errno.EROFS: "the file system is read-only",
        _errno.EACCES: "permission denied",
        _errno.EPERM: "operation not permitted",
        _errno.ENOTDIR: "a path above it is a file, not a folder",
        _errno.EEXIST: "it already exists",
        _errno.EISDIR: "it is a folder",
        _errno.EDQUOT: "disk quota exceeded",
    }.get(e.errno or -1, e.strerror or str(e))
    where = e.filename if (with_path and e.filename is not None) else None
    return f"{where}: {what}" if where else what


def run_main(main: Callable[[], int]) -> int:
    """Run a script's ``main`` as the CLI would: a :class:`VlmscError` becomes one line on
    stderr and its exit code, never a traceback (the ``scripts/`` entry points use this)."""
    try:
        return main()
    except VlmscError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
