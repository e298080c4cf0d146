"""Plate recall across countries' formats: synthetic plates put on the plates_us cars.

``plates_us`` holds American plates only, and the plate gates must not be tuned to them
(issue 17). This benchmark renders plates of other formats with Pillow and DejaVu Sans Bold
(shipped with matplotlib), deterministically from a seed, and puts each one on every
``plates_us`` photo in place of its labelled US plate; then it runs the real guard (policy
``plates``) and counts a plate found when the mask covers it by the project's rule
(:func:`vlm_privsc.measure.coverage.box_coverage` >= :data:`~vlm_privsc.measure.coverage.COVER`).

::

    US photo + box (x y w h) --> scale: px per mm = w / 305 (a US plate is 305 x 152 mm)
      --> the US plate inpainted away (OpenCV Telea) --> format's plate rendered at its own
          size in mm (text drawn, squeezed to its field), centred on the box
      --> mild perspective (corners jittered <= 4%), brightness of the old plate, blur, noise
      --> guard --> covered? (reference: the new plate's bounding box)

Each photo is measured under three databases: the default one (every plate gate), the
default without ``confirm.frame`` and the default without any ``confirm`` gate, so a miss
can be told apart: not detected, or dropped by a gate.

Run: ``python scripts/bench_plate_formats.py --json eval/results/guard/plate_formats.json``
(``--quick``: 2 photos).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vlm_privsc.measure.coverage import COVER, box_coverage

US_PLATE_MM = (305.0, 152.0)
"""Width, height of a US plate: what the labelled box measures."""
RENDER_PX_PER_MM = 3.0
"""Plates are drawn at this resolution, then shrunk to their size in the photo."""
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "0123456789"

Rgb = tuple[int, int, int]


def _pattern(pat: str, rng: np.random.Generator) -> str:
    """``L`` -> a letter, ``9`` -> a digit, anything else kept."""
    out = []
    for ch in pat:
        if ch == "L":
            out.append(LETTERS[int(rng.integers(len(LETTERS)))])
        elif ch == "9":
            out.append(DIGITS[int(rng.integers(len(DIGITS)))])
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Field:
    """A line of characters: its box on the plate (mm) and a pattern (or pick from several)."""

    box: tuple[float, float, float, float]
    patterns: tuple[str, ...]
    colour: Rgb = (20, 20, 20)


@dataclass(frozen=True)
class Band:
    """A coloured band with an optional short label (the EU's country code, "BRASIL")."""

    box: tuple[float, float, float, float]
    colour: Rgb
    label: str = ""
    label_colour: Rgb = (255, 255, 255)


@dataclass(frozen=True)
class PlateFormat:
    """One country's plate: size in mm, background, rim, bands, character fields."""

    name: str
    description: str
    size_mm: tuple[float, float]
    background: Rgb
    fields: tuple[Field, ...]
    bands: tuple[Band, ...] = ()
    rim: Rgb | None = (25, 25, 25)
    rim_mm: float = 2.0


EU_BLUE = (0, 51, 153)
FORMATS: dict[str, PlateFormat] = {
    f.name: f
    for f in [
        PlateFormat(
            "eu_de",
            "EU (Germany): 520x110 mm, blue band with D, 'B MW 1234'",
            (520, 110),
            (245, 245, 245),
            (Field((46, 17, 512, 93), ("L LL 9999", "LL L 999", "LLL LL 99")),),
            (Band((2, 2, 42, 108), EU_BLUE, "D"),),
        ),
        PlateFormat(
            "eu_fr",
            "EU (France): 520x110 mm, blue bands both ends, 'AB-123-CD'",
            (520, 110),
            (245, 245, 245),
            (Field((48, 17, 474, 93), ("LL-999-LL",)),),
            (Band((2, 2, 42, 108), EU_BLUE, "F"), Band((478, 2, 518, 108), EU_BLUE, "75")),
        ),
        PlateFormat(
            "uk_rear",
            "UK rear: 520x111 mm, yellow, 'AB12 CDE'",
            (520, 111),
            (247, 209, 23),
            (Field((30, 16, 490, 95), ("LL99 LLL",)),),
        ),
        PlateFormat(
            "br_mercosur",
            "Brazil (Mercosur): 400x130 mm, blue top band 'BRASIL', 'ABC1D23'",
            (400, 130),
            (245, 245, 245),
            (Field((18, 38, 382, 118), ("LLL9L99",)),),
            (Band((2, 2, 398, 30), (0, 56, 168), "BRASIL"),),
        ),
        PlateFormat(
            "digits",
            "all digits: 440x140 mm, '123 4567'",
            (440, 140),
            (240, 240, 235),
            (Field((24, 22, 416, 118), ("999 9999", "99 999 99", "999999")),),
        ),
        PlateFormat(
            "two_line",
            "two lines: 280x200 mm, 'AB 12' over '3456'",
            (280, 200),
            (240, 240, 235),
            (Field((40, 18, 240, 84), ("LL 99", "L 999")), Field((22, 100, 258, 184), ("9999", "99-99", "L999"))),
        ),
        PlateFormat(
            "white_on_black",
            "white characters on black: 520x110 mm, 'AB 1234'",
            (520, 110),
            (25, 25, 28),
            (Field((30, 17, 490, 93), ("LL 9999", "L 999 LL"), colour=(235, 235, 235)),),
            rim=(200, 200, 200),
        ),
    ]
}


def font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans Bold at ``size`` px (matplotlib's copy: offline, in every install)."""
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight="bold"))
    return ImageFont.truetype(path, size)


def _text_image(text: str, height: int, colour: Rgb) -> Image.Image:
    """``text`` drawn in ``colour`` on a transparent image, cropped to its ink, ``height`` tall."""
    f = font(max(8, int(height * 1.4)))
    x0, y0, x1, y1 = f.getbbox(text)
    im = Image.new("RGBA", (int(x1 - x0) + 4, int(y1 - y0) + 4), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((2 - x0, 2 - y0), text, font=f, fill=(*colour, 255))
    bbox = im.getbbox() or (0, 0, im.width, im.height)
    im = im.crop(bbox)
    return im.resize((max(1, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS)


def render(fmt: PlateFormat, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """The plate ``fmt`` as RGB uint8 at :data:`RENDER_PX_PER_MM`, and the text of its fields."""
    s = RENDER_PX_PER_MM
    w, h = (round(v * s) for v in fmt.size_mm)
    im = Image.new("RGB", (w, h), fmt.background)
    d = ImageDraw.Draw(im)
    if fmt.rim is not None:
        r = max(1, round(fmt.rim_mm * s))
        d.rectangle((r // 2, r // 2, w - 1 - r // 2, h - 1 - r // 2), outline=fmt.rim, width=r)
    for b in fmt.bands:
        bx = tuple(round(v * s) for v in b.box)
        d.rectangle(bx, fill=b.colour)
        if b.label:
            lw, lh = bx[2] - bx[0], bx[3] - bx[1]
            lab = _text_image(b.label, max(6, round(min(lh * 0.6, lw * 0.45) if lw < lh else lh * 0.6)), b.label_colour)
            if lab.width > lw * 0.85:
                lab = lab.resize((max(1, round(lw * 0.85)), lab.height), Image.Resampling.LANCZOS)
            ly = bx[3] - lab.height - round(lh * 0.12) if lw < lh else bx[1] + (lh - lab.height) // 2
            im.paste(lab, (bx[0] + (lw - lab.width) // 2, ly), lab)
    texts = []
    for fld in fmt.fields:
        text = _pattern(fld.patterns[int(rng.integers(len(fld.patterns)))], rng)
        texts.append(text)
        fx0, fy0, fx1, fy1 = (round(v * s) for v in fld.box)
        t = _text_image(text, fy1 - fy0, fld.colour)
        if t.width > fx1 - fx0:  # a narrower (condensed) face, as plates use
            t = t.resize((fx1 - fx0, t.height), Image.Resampling.LANCZOS)
        im.paste(t, (fx0 + (fx1 - fx0 - t.width) // 2, fy0), t)
    return np.asarray(im, dtype=np.uint8).copy(), texts


@dataclass(frozen=True)
class Composite:
    """A photo with a synthetic plate in place of its US plate."""

    image: np.ndarray
    box: tuple[int, int, int, int]
    """The new plate's bounding box ``(x0, y0, x1, y1)`` (exclusive ends), the reference."""
    texts: tuple[str, ...]


def _luma(rgb: np.ndarray) -> float:
    return float((rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).mean())


def composite(photo: np.ndarray, us_box: tuple[float, float, float, float], fmt: PlateFormat, seed: int) -> Composite:
    """Put a ``fmt`` plate (drawn from ``seed``) on ``photo`` in place of the US plate at
    ``us_box`` ``(x, y, w, h)``, at the physical scale that plate implies (see module docstring)."""
    rng = np.random.default_rng(seed)
    img = photo.copy()
    H, W = img.shape[:2]
    x, y, bw, bh = us_box
    ppm = bw / US_PLATE_MM[0]
    old = photo[max(0, int(y)) : int(np.ceil(y + bh)), max(0, int(x)) : int(np.ceil(x + bw))]
    hole = np.zeros((H, W), np.uint8)
    gx, gy = 0.08 * bw, 0.08 * bh
    hole[max(0, int(y - gy)) : int(np.ceil(y + bh + gy)), max(0, int(x - gx)) : int(np.ceil(x + bw + gx))] = 255
    img = cv2.inpaint(img, hole, 5, cv2.INPAINT_TELEA)

    plate, texts = render(fmt, rng)
    pw, ph = fmt.size_mm[0] * ppm, fmt.size_mm[1] * ppm
    cx = float(np.clip(x + bw / 2, pw / 2 + 1, W - pw / 2 - 1)) if pw + 2 < W else W / 2
    cy = float(np.clip(y + bh / 2, ph / 2 + 1, H - ph / 2 - 1)) if ph + 2 < H else H / 2
    small = cv2.resize(plate, (max(2, round(pw)), max(2, round(ph))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float32)
    jitter = rng.uniform(-0.04, 0.04, size=(4, 2)) * [pw, ph]
    dst = np.array(
        [
            [cx - pw / 2, cy - ph / 2],
            [cx + pw / 2, cy - ph / 2],
            [cx + pw / 2, cy + ph / 2],
            [cx - pw / 2, cy + ph / 2],
        ],
        dtype=np.float32,
    )
    dst = (dst + jitter).astype(np.float32)
    warp = cv2.getPerspectiveTransform(src, dst)
    layer = cv2.warpPerspective(small, warp, (W, H), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(np.full((sh, sw), 255, np.uint8), warp, (W, H), flags=cv2.INTER_LINEAR)
    a: np.ndarray = alpha.astype(np.float32)[..., None] / 255.0
    # the light of the old plate: a night or shaded plate stays dark
    gain = float(np.clip(_luma(old) / max(_luma(plate), 1.0), 0.3, 1.0)) if old.size else 1.0
    lit: np.ndarray = layer.astype(np.float32) * gain
    sigma = float(rng.uniform(0.3, 0.9))
    lit = cv2.GaussianBlur(lit, (0, 0), sigma)
    a = cv2.GaussianBlur(a, (0, 0), sigma)[..., None]
    noise = rng.normal(0.0, 4.0, size=lit.shape).astype(np.float32)
    out = img.astype(np.float32) * (1 - a) + (lit + noise) * a
    out_u8 = np.clip(out, 0, 255).astype(np.uint8)
    x0, y0 = int(max(0, np.floor(dst[:, 0].min()))), int(max(0, np.floor(dst[:, 1].min())))
    x1, y1 = int(min(W, np.ceil(dst[:, 0].max()))), int(min(H, np.ceil(dst[:, 1].max())))
    return Composite(out_u8, (x0, y0, x1, y1), tuple(texts))


def plate_photos(root: Path) -> list[tuple[Path, tuple[float, float, float, float]]]:
    """``(photo, (x, y, w, h))`` of each ``<name>.txt`` (``file x y w h PLATE``) in ``root``."""
    out = []
    for lab in sorted(root.glob("*.txt")):
        parts = lab.read_text().strip().split()
        if len(parts) < 5 or not (root / parts[0]).exists():
            continue
        try:
            x, y, w, h = (float(v) for v in parts[1:5])
        except ValueError:
            continue
        out.append((root / parts[0], (x, y, w, h)))
    return out


def variant_dbs(base: Any) -> dict[str, Any]:
    """``default`` (every plate gate), ``no_frame`` (without ``confirm.frame``), ``no_gates``."""
    from vlm_privsc.db import PrivacyDB

    out = {"default": base}
    for name, update in (("no_frame", {"frame": None}), ("no_gates", None)):
        data = base.model_dump(mode="json")
        conf = data["categories"]["license_plate"].get("confirm")
        data["categories"]["license_plate"]["confirm"] = None if update is None or conf is None else {**conf, **update}
        out[name] = PrivacyDB.model_validate(data)
    return out


def measure(
    photos: list[tuple[Path, tuple[float, float, float, float]]],
    formats: list[str],
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every format on every photo under the three databases of :func:`variant_dbs`."""
    import torch

    from vlm_privsc.db import load_db
    from vlm_privsc.guard import PrivacyGuard
    from vlm_privsc.io.images import load_rgb, to_tensor

    dbs = variant_dbs(load_db())
    guards = {k: PrivacyGuard(db, "plates").load() for k, db in dbs.items()}
    items: list[dict[str, Any]] = []
    for pi, (path, box) in enumerate(photos):
        rgb, _ = load_rgb(path)
        for fi, name in enumerate(formats):
            comp = composite(rgb, box, FORMATS[name], seed * 1_000_003 + pi * 101 + fi)
            tensor = to_tensor(comp.image)
            row: dict[str, Any] = {"photo": path.name, "format": name, "texts": list(comp.texts), "box": list(comp.box)}
            for k, guard in guards.items():
                t0 = time.perf_counter()
                res = guard.run(tensor, torch.Generator().manual_seed(0))
                cov = box_coverage(res.category_mask("license_plate")[0, 0].numpy(), comp.box)
                row[k] = {
                    "cover": round(cov, 4),
                    "found": cov >= COVER,
                    "regions": sum(r.category == "license_plate" for r in res.regions),
                    "gated": res.gated.get("license_plate", 0),
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            items.append(row)
            if progress:
                progress(f"{path.name} {name} {comp.texts} " + " ".join(f"{k}={row[k]['found']}" for k in guards))
    summary: dict[str, dict[str, Any]] = {}
    for name in formats:
        rows = [r for r in items if r["format"] == name]
        summary[name] = {"description": FORMATS[name].description, "photos": len(rows)}
        for k in dbs:
            found = sum(r[k]["found"] for r in rows)
            summary[name][k] = {
                "found": found,
                "recall": round(found / max(len(rows), 1), 4),
                "seconds_per_photo": round(float(np.mean([r[k]["seconds"] for r in rows])) if rows else 0.0, 3),
                "missed": [r["photo"] for r in rows if not r[k]["found"]],
            }
    return {"formats": summary, "items": items}


def markdown(results: dict[str, Any]) -> str:
    """The per-format table (and the command) as Markdown."""
    lines = [
        "# Plate recall by format (synthetic plates on the plates_us cars)",
        "",
        "Command:",
        "",
        "```",
        results["command"],
        "```",
        "",
        f"{results['photos']} photos x {len(results['formats'])} formats, seed {results['seed']}; found = the plates "
        f"policy's mask covers >= {COVER:.0%} of the plate's box. Columns: the default database; the same without "
        "`confirm.frame`; without any `confirm` gate.",
        "",
        "| format | plates | found (default) | recall | without frame gate | without gates | s / photo (default) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in results["formats"].items():
        d, nf, ng = s["default"], s["no_frame"], s["no_gates"]
        lines.append(
            f"| {name}: {s['description']} | {s['photos']} | {d['found']} | {d['recall']:.3f} | "
            f"{nf['found']} ({nf['recall']:.3f}) | {ng['found']} ({ng['recall']:.3f}) | {d['seconds_per_photo']:.2f} |"
        )
    tot = {k: sum(s[k]["found"] for s in results["formats"].values()) for k in ("default", "no_frame", "no_gates")}
    n = sum(s["photos"] for s in results["formats"].values())
    lines.append(
        f"| **all** | {n} | {tot['default']} | {tot['default'] / max(n, 1):.3f} | {tot['no_frame']} | {tot['no_gates']} | |"
    )
    lines += ["", "Missed under the default database:", ""]
    lines += [f"- {k}: {', '.join(s['default']['missed']) or 'none'}" for k, s in results["formats"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/plates_us"), help="plates_us folder")
    ap.add_argument("--formats", default=",".join(FORMATS), help=f"comma list of {', '.join(FORMATS)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="2 photos")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="write the results here (and a .md beside it)")
    ap.add_argument("--examples", type=Path, default=None, help="write each composite photo's plate crop here")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        print(f"unknown format(s) {', '.join(unknown)}; valid: {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    photos = plate_photos(a.data) if a.data.is_dir() else []
    if not photos:
        print(f"no labelled plate photos in {a.data} (pass --data)", file=sys.stderr)
        return 2
    photos = photos[:2] if a.quick else photos
    t0 = time.perf_counter()
    res = measure(photos, formats, a.seed, lambda s: print("  " + s, file=sys.stderr, flush=True))
    results = {
        "command": "python scripts/bench_plate_formats.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, torch threads {torch.get_num_threads()}",
        "seed": a.seed,
        "photos": len(photos),
        "seconds": round(time.perf_counter() - t0, 1),
        **res,
    }
    if a.examples:
        a.examples.mkdir(parents=True, exist_ok=True)
        from vlm_privsc.io.images import load_rgb

        for pi, (path, box) in enumerate(photos):
            rgb, _ = load_rgb(path)
            for fi, name in enumerate(formats):
                c = composite(rgb, box, FORMATS[name], a.seed * 1_000_003 + pi * 101 + fi)
                x0, y0, x1, y1 = c.box
                pad = max(8, (x1 - x0) // 2)
                crop = c.image[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad]
                cv2.imwrite(str(a.examples / f"{path.stem}_{name}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    text = markdown(results)
    print(text)
    if a.json:
        from vlm_privsc.io.atomic import atomic_write_json, atomic_write_text

        atomic_write_json(a.json, results)
        atomic_write_text(a.json.with_suffix(".md"), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
