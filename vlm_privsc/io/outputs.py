"""Output sets written all-or-nothing: every file of one command goes into a hidden
sibling folder first, then that folder replaces ``--out`` in one rename.

A failure half-way (a full disk, Ctrl-C, a bug) leaves ``--out`` exactly as it was and
nothing beside it; a reader never sees new PNGs next to the previous run's report. Each
set ends with ``manifest.json`` (every file's size and SHA-256), written last, so a folder
without one is not a complete set. A folder is only replaced when it holds nothing but an
earlier output set (the files its manifest lists, or, for sets from before manifests, the
names the command writes); a folder with other files, or one that holds an input of this
command, is refused with one line: the tool never deletes what it did not write.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vlm_privsc.errors import OutputError, os_error_line
from vlm_privsc.io.atomic import encode_json, umask

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "vlmsc-output-set-1"

Content = bytes | Mapping[str, Any]


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_folder_path(out: Path) -> None:
    """``out`` must be a folder or not exist yet, with no file above it (one OutputError line)."""
    for p in out.parents:
        if p.exists() and not p.is_dir():
            raise OutputError(f"cannot write to {str(out)!r}: {str(p)!r} is a file, not a folder")
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot write to {str(out)!r}: it is a file, not a folder")


def check_output_folder(
    out: Path, names: Iterable[str], inputs: Iterable[str | Path] = (), legacy_names: Iterable[str] = ()
) -> None:
    """Refuse, with one :class:`OutputError` line, an ``out`` that is a file, that lies
    below a file, that holds an input of this command, or that holds files which are not
    an earlier output set. Called before any model is loaded."""
    check_folder_path(out)
    for src in inputs:
        s = str(src)
        if s and ":" not in s.split("/")[0] and _inside(Path(s), out):
            raise OutputError(
                f"the input {s!r} lies inside the output folder {str(out)!r}, which this "
                "command replaces: choose another --out"
            )
    if not out.is_dir():
        return
    ours = set(names) | set(legacy_names) | {MANIFEST}
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            listed = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
            ours |= set(listed) if isinstance(listed, dict) else set()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        foreign = sorted(e.name for e in os.scandir(out) if e.name not in ours or not e.is_file(follow_symlinks=False))
    except OSError as e:
        raise OutputError(f"cannot read the output folder: {os_error_line(e)}") from None
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(
            f"the output folder {str(out)!r} holds files this command did not write ({shown}); "
            "choose a new or empty --out (nothing was changed)"
        )


def write_output_set(
    out_dir: str | Path,
    files: Mapping[str, Content],
    inputs: Iterable[str | Path] = (),
    legacy_names: Iterable[str] = (),
    *,
    _fail_after: int | None = None,
) -> list[Path]:
    """Write ``files`` (name -> bytes, or a mapping written as JSON) as the output set
    ``out_dir``, replacing an earlier set there at once (see the module docstring).
    Returns the final paths, ``manifest.json`` last. ``_fail_after`` injects an
    ``ENOSPC`` after that many files (tests)."""
    out = Path(out_dir)
    check_output_folder(out, files.keys(), inputs, legacy_names)
    parent = out.parent if str(out.parent) else Path(".")
    tmp: Path | None = None
    old: Path | None = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
        os.chmod(tmp, 0o777 & ~umask())
        entries: dict[str, dict[str, Any]] = {}
        for i, (name, content) in enumerate(files.items()):
            if _fail_after is not None and i >= _fail_after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out / name))
            data = bytes(content) if isinstance(content, (bytes, bytearray)) else encode_json(content)
            _write_file(tmp / name, data)
            entries[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        _write_file(tmp / MANIFEST, encode_json({"format": MANIFEST_FORMAT, "files": entries}))
        _fsync_dir(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.rename(out, old)
        os.rename(tmp, out)
        tmp = None
        _fsync_dir(parent)
    except OSError as e:
        raise OutputError(f"could not write the output set {str(out)!r} (left unchanged): {os_error_line(e)}") from None
    finally:  # also on Ctrl-C between the two renames: the earlier set goes back
        if old is not None and not out.exists():
            try:
                os.rename(old, out)
                old = None
            except OSError:
                pass
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return [out / n for n in files] + [out / MANIFEST]


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
