"""Guard precision: how often the guard masks something on photos that hold none of a
category, and how much of such a photo it masks (issue 17).

Every false mask costs Bob utility (those pixels are not sent) and makes policies hard to
compare. The labels are per photo and per category (``1`` / ``0`` / ``?``; see
``eval/annotations/bsds500_test_categories.csv``); ``?`` photos are left out. For each
category's policy the guard runs once per photo, and the benchmark reports

- *false-mask rate*: share of the photos labelled ``0`` on which the guard masks anything
  for that category (issue 17's target: <= 5% for text, plates and people);
- *false-masked fraction*: mean share of those photos' pixels masked for that category;
- *photo recall*: share of the photos labelled ``1`` on which it masks something (a coarse
  check that precision was not bought by finding nothing; box-level recall is
  ``scripts/bench_guard.py``'s job).

Run: ``python -m vlm_privsc.evaluation.precision --images ../shared/data/bsds500/test
--labels eval/annotations/bsds500_test_categories.csv --out eval/results/guard_precision``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from vlm_privsc.db import PrivacyDB

CATEGORY_POLICY = {"person": "people", "text": "text", "license_plate": "plates"}
"""The label column -> the default database's policy that removes just that category."""


@dataclass(frozen=True)
class CategoryPrecision:
    """The figures of one category (see the module docstring)."""

    category: str
    policy: str
    negatives: int
    false_masked_photos: int
    false_mask_rate: float | None
    false_masked_fraction: float | None
    positives: int
    found_photos: int
    photo_recall: float | None
    false_photos: tuple[str, ...]


def read_labels(path: Path) -> dict[str, dict[str, str]]:
    """``file -> {category: '1' | '0' | '?'}`` from a labels CSV (``#`` lines are comments)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return {r["file"]: {k: v.strip() for k, v in r.items() if k != "file"} for r in rows}


def measure(
    images: Path,
    labels: dict[str, dict[str, str]],
    categories: list[str],
    detect_max_side: int = 1280,
    db: PrivacyDB | None = None,
) -> list[CategoryPrecision]:
    """Run the guard of ``db`` (default: the default database) with each category's policy
    on every labelled photo."""
    from vlm_privsc.db import load_db
    from vlm_privsc.guard import PrivacyGuard
    from vlm_privsc.io import load_image

    db = db or load_db()
    guards = {cat: PrivacyGuard(db, CATEGORY_POLICY[cat], detect_max_side=detect_max_side).load() for cat in categories}
    tally: dict[str, dict[str, list[str]]] = {
        c: {"negatives": [], "false": [], "positives": [], "found": []} for c in categories
    }
    fractions: dict[str, list[float]] = {c: [] for c in categories}
    for name, lab in sorted(labels.items()):
        wanted = [c for c in categories if lab.get(c, "?") in ("0", "1")]
        if not wanted:
            continue
        image = load_image(images / name).tensor  # read once, run by every category's guard
        for cat in wanted:
            res = guards[cat].run(image, torch.Generator().manual_seed(0))
            hit = any(r.category == cat for r in res.regions)
            t = tally[cat]
            if lab[cat] == "0":
                t["negatives"].append(name)
                fractions[cat].append(float(res.private_fraction))
                if hit:
                    t["false"].append(name)
            else:
                t["positives"].append(name)
                if hit:
                    t["found"].append(name)
    out = []
    for cat in categories:
        t, fr = tally[cat], fractions[cat]
        neg, pos = len(t["negatives"]), len(t["positives"])
        out.append(
            CategoryPrecision(
                cat,
                CATEGORY_POLICY[cat],
                neg,
                len(t["false"]),
                round(len(t["false"]) / neg, 4) if neg else None,
                round(sum(fr) / len(fr), 5) if fr else None,
                pos,
                len(t["found"]),
                round(len(t["found"]) / pos, 4) if pos else None,
                tuple(t["false"]),
            )
        )
    return out


def markdown(results: list[CategoryPrecision], command: str, images: str) -> str:
    lines = [
        f"# Guard precision on {images}",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        "| category | policy | photos without it | masked anyway | false-mask rate (target <= 0.05) | "
        "false-masked pixels (mean) | photos with it | found | photo recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rate = "-" if r.false_mask_rate is None else f"{r.false_mask_rate:.3f}"
        frac = "-" if r.false_masked_fraction is None else f"{r.false_masked_fraction:.4f}"
        rec = "-" if r.photo_recall is None else f"{r.photo_recall:.3f}"
        lines.append(
            f"| {r.category} | {r.policy} | {r.negatives} | {r.false_masked_photos} | {rate} | {frac} | "
            f"{r.positives} | {r.found_photos} | {rec} |"
        )
    lines += ["", "Photos masked anyway:", ""]
    lines += [f"- {r.category}: {', '.join(r.false_photos) or 'none'}" for r in results]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=Path, required=True, help="folder of the labelled photos")
    ap.add_argument("--labels", type=Path, required=True, help="CSV file,person,text,license_plate (1/0/?)")
    ap.add_argument("--category", action="append", choices=sorted(CATEGORY_POLICY), help="repeatable (default: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    results = measure(a.images, read_labels(a.labels), a.category or list(CATEGORY_POLICY))
    command = "python -m vlm_privsc.evaluation.precision " + " ".join(sys.argv[1:] if argv is None else argv)
    from vlm_privsc.io.atomic import atomic_write_json, atomic_write_text

    atomic_write_json(
        a.out / "precision.json",
        {"command": command, "seconds": round(time.perf_counter() - t0, 1), "results": [asdict(r) for r in results]},
    )
    atomic_write_text(a.out / "precision.md", markdown(results, command, str(a.images)))
    print(markdown(results, command, str(a.images)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
