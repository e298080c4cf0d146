"""Face data sets for leakage evaluation: a folder per identity, or a CSV of image,identity."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from vlm_privsc.errors import InputError, VlmscError

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp", ".tif", ".tiff", ".webp"}
_IMAGE_COLS = ("image", "file", "path", "filename")
_ID_COLS = ("identity", "cluster_id", "id", "label", "person")


@dataclass(frozen=True)
class FaceItem:
    """One photo and the identity of the person in it."""

    key: str
    """Stable id of the photo (path relative to the data set root)."""
    path: Path
    identity: str


def _from_csv(path: Path) -> list[FaceItem]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"cannot read face list {str(path)!r}: {e}") from None
    if not rows:
        raise InputError(f"face list {str(path)!r} has no rows")
    cols = {c.lower().strip(): c for c in rows[0]}
    icol = next((cols[c] for c in _IMAGE_COLS if c in cols), None)
    pcol = next((cols[c] for c in _ID_COLS if c in cols), None)
    if icol is None or pcol is None:
        raise InputError(
            f"face list {str(path)!r} needs an image column ({'/'.join(_IMAGE_COLS)}) and an identity column "
            f"({'/'.join(_ID_COLS)}); found: {', '.join(rows[0])}"
        )
    items = []
    for line, r in enumerate(rows, start=2):
        image, identity = (r.get(icol) or "").strip(), (r.get(pcol) or "").strip()
        if not image:
            raise InputError(f"face list {str(path)!r} line {line}: the {icol} column is empty")
        if not identity:
            raise InputError(
                f"face list {str(path)!r} line {line}: the {pcol} of {image!r} is empty "
                "(every photo needs the identity of the person in it)"
            )
        items.append(FaceItem(image, (path.parent / image).resolve(), identity))
    return items


def load_faces(source: str | Path, limit: int | None = None) -> list[FaceItem]:
    """Photos with identities from ``DIR/<identity>/*.jpg`` or a CSV (image,identity).

    ``limit`` keeps the first N photos in a deterministic order that takes identities in
    turn (so a small limit still covers several people).
    """
    src = Path(source)
    if not src.exists():
        raise InputError(f"faces {str(src)!r} not found")
    if src.is_file():
        items = _from_csv(src)
    else:
        items = []
        for d in sorted(p for p in src.iterdir() if p.is_dir()):
            for f in sorted(d.iterdir(), key=lambda p: (len(p.name), p.name)):
                if f.suffix.lower() in IMAGE_EXTS:
                    items.append(FaceItem(f"{d.name}/{f.name}", f, d.name))
        if not items:
            raise InputError(f"faces folder {str(src)!r} has no <identity>/<image> files")
    by_id: dict[str, list[FaceItem]] = {}
    for it in items:
        by_id.setdefault(it.identity, []).append(it)
    ordered: list[FaceItem] = []
    queues = [list(v) for _, v in sorted(by_id.items())]
    while any(queues):
        for q in queues:
            if q:
                ordered.append(q.pop(0))
    return ordered[:limit] if limit else ordered


@dataclass(frozen=True)
class SkippedPhoto:
    """A photo of the data set that could not be evaluated, and why (one line)."""

    key: str
    reason: str


def readable_photos(items: list[FaceItem], strict: bool = False) -> tuple[list[FaceItem], list[SkippedPhoto]]:
    """The photos that load (decoded once here, so a batch never stops half-way at a bad
    file) and the others with the reason. ``strict``: the first bad photo is an error."""
    from vlm_privsc.io.images import load_rgb

    good: list[FaceItem] = []
    skipped: list[SkippedPhoto] = []
    for it in items:
        try:
            load_rgb(it.path)
        except VlmscError as e:
            if strict:
                raise InputError(f"photo {it.key!r}: {e} (without --strict, unreadable photos are skipped)") from None
            skipped.append(SkippedPhoto(it.key, str(e)))
            continue
        good.append(it)
    if not good:
        raise InputError(f"none of the {len(items)} photos can be read (first: {skipped[0].reason})")
    return good, skipped
