"""Labelled private regions (reference boxes) for measuring the guard's coverage in a batch run.

A CSV with a file column (``file``/``image``/``path``/``filename``) and the pixel box
``x0,y0,x1,y1`` (``x1``/``y1`` exclusive) of one region per row, in the photo's own
coordinates, e.g. ``eval/annotations/faces_deepface_boxes.csv``. Whether the guard covered
a box is measured by :mod:`vlm_privsc.measure.coverage` (the project's one rule).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path, PurePosixPath

from vlm_privsc.errors import InputError
from vlm_privsc.measure.coverage import Box

_FILE_COLS = ("file", "image", "path", "filename")


def load_labels(path: str | Path) -> dict[str, list[Box]]:
    """``{file name as written: [boxes]}``; one clear line for an unreadable or malformed CSV."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"cannot read labels {str(p)!r}: {e}") from None
    cols = {c.lower().strip(): c for c in header}
    fcol = next((cols[c] for c in _FILE_COLS if c in cols), None)
    missing = [c for c in ("x0", "y0", "x1", "y1") if c not in cols]
    if fcol is None or missing:
        raise InputError(
            f"labels {str(p)!r} need a file column ({'/'.join(_FILE_COLS)}) and x0,y0,x1,y1; "
            f"found: {', '.join(header) or 'nothing'}"
        )
    out: dict[str, list[Box]] = defaultdict(list)
    for line, r in enumerate(rows, start=2):
        try:
            box = tuple(float(r[cols[c]]) for c in ("x0", "y0", "x1", "y1"))
        except (TypeError, ValueError):
            raise InputError(f"labels {str(p)!r} line {line}: x0,y0,x1,y1 must be numbers") from None
        if not (box[2] > box[0] and box[3] > box[1]):
            raise InputError(f"labels {str(p)!r} line {line}: empty box {box} (need x1 > x0 and y1 > y0)")
        out[r[fcol].strip()].append(box)  # type: ignore[arg-type]
    return dict(out)


def boxes_for(labels: dict[str, list[Box]], key: str) -> list[Box] | None:
    """The boxes of the photo ``key`` (matched on its relative path, then its file name);
    ``None`` when the photo is not in the labels at all (coverage unknown, not zero)."""
    if key in labels:
        return labels[key]
    name = PurePosixPath(key).name
    return labels.get(name)
