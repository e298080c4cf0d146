"""Outputs of a run: pictures, JSON reports and terminal tables.

All files are rendered in memory first and then written atomically, so an error
leaves no half-written output behind.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from vlm_privsc.guard.guard import GuardResult
from vlm_privsc.io.atomic import atomic_write_bytes, atomic_write_json
from vlm_privsc.io.images import encode_png, mask_to_uint8, to_uint8

if TYPE_CHECKING:
    from vlm_privsc.results import RunResult

# one distinct colour per category (RGB), stable across runs
_PALETTE = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 190),
]


def category_colour(category: str, categories: list[str]) -> tuple[int, int, int]:
    """The category's colour: its place among the database's sorted categories, or for a name
    outside them a stable digest of the name (``hash()`` changes between processes)."""
    import zlib

    names = sorted(categories)
    i = names.index(category) if category in names else zlib.crc32(category.encode("utf-8"))
    return _PALETTE[i % len(_PALETTE)]


def draw_overlay(result: GuardResult, all_categories: list[str] | None = None) -> np.ndarray:
    """The original with the mask tinted and each region's box and label drawn."""
    rgb = to_uint8(result.image).copy()
    cats = all_categories or sorted({r.category for r in result.regions})
    h, w = rgb.shape[:2]
    thick = max(1, round(max(h, w) / 400))
    font_scale = max(0.4, max(h, w) / 1200)
    tint = rgb.copy()
    for r in result.regions:
        tint[r.mask.numpy()] = category_colour(r.category, cats)
    out = cv2.addWeighted(rgb, 0.6, tint, 0.4, 0)
    for r in result.regions:
        c = category_colour(r.category, cats)
        x0, y0, x1, y1 = r.box
        cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), c, thick)
        label = f"{r.category} {r.score:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = y0 - 3 if y0 - th - base - 3 >= 0 else min(h - 1, y1 + th + 3)
        cv2.rectangle(out, (x0, ty - th - base), (min(w - 1, x0 + tw + 2), ty + base // 2), c, -1)
        cv2.putText(
            out, label, (x0 + 1, ty - base // 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1, cv2.LINE_AA
        )
    return out


def write_files(out_dir: str | Path, files: dict[str, bytes | dict[str, Any]]) -> list[Path]:
    """Write each rendered file atomically into the folder ``out_dir`` (created if needed),
    beside what is there: the outputs of ``vlmsc eval``, whose folder also holds the
    resumable ``rows.csv``. A single command's output set goes through
    :func:`vlm_privsc.io.outputs.write_output_set` instead (all-or-nothing)."""
    out = Path(out_dir)
    check_eval_folder(out)
    written = []
    for name, content in files.items():
        if isinstance(content, (bytes, bytearray)):
            written.append(atomic_write_bytes(out / name, bytes(content)))
        else:
            written.append(atomic_write_json(out / name, content))
    return written


def check_eval_folder(out: Path) -> None:
    """An evaluation folder must be a folder (or not exist yet), with no file above it."""
    from vlm_privsc.io.outputs import check_folder_path

    check_folder_path(out)


GUARD_OUTPUTS = ("masked.png", "mask.png", "overlay.png", "regions.json")
"""The files of ``vlmsc guard``'s output set (plus ``manifest.json``)."""


def render_guard_outputs(
    result: GuardResult, meta: dict[str, Any], all_categories: list[str]
) -> dict[str, bytes | dict[str, Any]]:
    """``masked.png``, ``mask.png`` (white = private), ``overlay.png``, ``regions.json``."""
    return {
        "masked.png": encode_png(to_uint8(result.masked)),
        "mask.png": encode_png(mask_to_uint8(result.mask)),
        "overlay.png": encode_png(draw_overlay(result, all_categories)),
        "regions.json": {**meta, **result.to_json(), "timings_s": {k: round(v, 4) for k, v in result.timings.items()}},
    }


# --- vlmsc run -------------------------------------------------------------------
def _num(v: Any) -> Any:
    """JSON-safe numbers: round floats, inf/nan become strings JSON can hold."""
    if isinstance(v, float):
        if v != v:
            return None
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return round(v, 4)
    return v


def _identity_json(c: Any) -> dict[str, Any] | None:
    return None if c is None else c.to_dict()


def run_report(result: RunResult) -> dict[str, Any]:
    """``report.json`` of one :class:`~vlm_privsc.pipeline.RunResult`."""
    r = result
    sem = []
    tx = r.transmission
    for i, cat in enumerate(tx.categories):
        b = r.bob.semantics[i] if i < len(r.bob.semantics) else None
        e = r.eve.semantics[i] if i < len(r.eve.semantics) else None
        bg = r.bob.generators[i] if i < len(r.bob.generators) else None
        eg = r.eve.generators[i] if i < len(r.eve.generators) else None
        sem.append(
            {
                "category": cat,
                "attributes_sent": tx.attributes[i] if i < len(tx.attributes) else {},
                "bob": None
                if b is None
                else {"category": b.category, "prompt": b.prompt, "similarity": _num(b.similarity), "generator": bg},
                "eve": None
                if e is None
                else {"category": e.category, "from": e.source, "similarity": _num(e.similarity), "generator": eg},
            }
        )
    return {
        "image": r.source,
        "seed": r.seed,
        "pipeline": r.config.name,
        "policy": r.guard.policy,
        "db_digest": r.db_digest,
        "regions": [reg.to_json() for reg in r.guard.regions],
        "uncovered_categories": list(r.guard.uncovered),
        "private_fraction": _num(r.guard.private_fraction),
        "channel": {k: _num(v) for k, v in r.channel.to_json().items()},
        "header_bits": tx.header_bits,
        "semantics": sem,
        "metrics": {k: _num(v) for k, v in r.metrics.to_json().items()},
        "identity": {
            "received": _identity_json(r.metrics.identity_received),
            "eavesdropper": _identity_json(r.metrics.identity_eavesdropper),
        },
        "timings": {k: round(v, 4) for k, v in {**r.guard.timings, **r.timings}.items()},
        "config": r.config.model_dump(mode="json"),
    }


def render_panel(result: RunResult) -> bytes:
    """``panel.png``: original | masked (sent) | Bob | Eve, titled with the metrics."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = result.metrics.to_json()

    def f(v: Any, unit: str = "") -> str:
        if v is None:
            return "n/a"
        if isinstance(v, float) and v == float("inf"):
            return "inf"
        return f"{v:.2f}{unit}" if isinstance(v, float) else str(v)

    leak = m["identity_leak"]

    def restored_by(rx: Any) -> str:
        """What this receiver recovered and drew, e.g. ``face -> face_gan``."""
        pairs = [
            f"{d.category or '?'}{' (mask shape)' if d.source == 'shape' else ''} -> {g}"
            for d, g in zip(rx.semantics, rx.generators)
        ]
        text = "; ".join(dict.fromkeys(pairs)) or "nothing to restore"
        return "\n".join(textwrap.wrap(text, 44, subsequent_indent="  ")) or text

    titles = [
        "original",
        f"masked & sent ({len(result.guard.regions)} region(s))",
        f"Bob @ {result.bob.snr_db:g} dB\nPSNR {f(m['psnr_received'], ' dB')}  SSIM {f(m['ssim_received'])}\n"
        f"identity sim {f(m['identity_similarity_received'])}\nrecovered: {restored_by(result.bob)}",
        f"Eve @ {result.eve.snr_db:g} dB\nPSNR {f(m['psnr_eavesdropper'], ' dB')}  SSIM {f(m['ssim_eavesdropper'])}\n"
        f"identity sim {f(m['identity_similarity_eavesdropper'])} "
        f"({'LEAK' if leak else 'no leak' if leak is not None else 'no face'})\nguessed: {restored_by(result.eve)}",
    ]
    imgs = [result.original, result.masked, result.bob.restored, result.eve.restored]
    h, w = result.original.shape[-2:]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.0 * h / w + 1.5), dpi=100)
    for ax, im, title in zip(axes, imgs, titles):
        ax.imshow(to_uint8(im))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"vlm-privsc: policy '{result.guard.policy}', channel {result.channel.type}", fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


RUN_OUTPUTS = ("masked.png", "mask.png", "received.png", "eavesdropper.png", "panel.png", "report.json")
"""The files of ``vlmsc run``'s output set (plus ``manifest.json``)."""


def render_run_outputs(result: RunResult) -> dict[str, bytes | dict[str, Any]]:
    """Every file of ``vlmsc run --out DIR``."""
    return {
        "masked.png": encode_png(to_uint8(result.masked)),
        "mask.png": encode_png(mask_to_uint8(result.mask)),
        "received.png": encode_png(to_uint8(result.bob.restored)),
        "eavesdropper.png": encode_png(to_uint8(result.eve.restored)),
        "panel.png": render_panel(result),
        "report.json": run_report(result),
    }
