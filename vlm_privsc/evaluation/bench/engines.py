"""Benchmark ``vlmsc eval`` on the local engine against the Ray engine, same workers.

Runs the same evaluation (a fresh ``--out`` each time, the same key) alternately with
``--engine local --jobs W`` and ``--engine ray --workers W`` (a local Ray instance that
the command starts and stops), ``--reps`` times each, and records per run the command's
wall time, the evaluation's own seconds (``summary.json`` meta: from engine start to the
last row, so Ray's start-up and the workers' pipeline loading are in it) and photos/s;
checks that both engines wrote the same rows (every column but ``seconds``).

    python scripts/bench_eval_engines.py --faces ../shared/data/faces_orl --limit 24 --workers 2 \\
        --out eval/results/ray
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _cells(rows_csv: Path) -> dict[tuple[str, ...], dict[str, str]]:
    rows = list(csv.DictReader(rows_csv.open()))
    return {
        (r["image"], r["policy"], r["scheme"], r["bob_snr_db"], r["eve_snr_db"]): {
            k: v for k, v in r.items() if k != "seconds"
        }
        for r in rows
    }


def _run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr[-2000:]}")
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", required=True)
    ap.add_argument("--limit", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--max-side", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("eval/results/ray"))
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="vlmsc-bench-engines-"))
    vlmsc = [sys.executable, "-m", "vlm_privsc"]
    key = tmp / "bench.key"
    subprocess.run([*vlmsc, "key", "new", "--out", str(key)], check=True, capture_output=True)
    base = [
        *vlmsc,
        "eval",
        "--faces",
        a.faces,
        "--limit",
        str(a.limit),
        "--key",
        str(key),
        "--policy",
        "faces",
        "--snr",
        "10",
        "--eve-snr",
        "10",
    ] + (["--max-side", str(a.max_side)] if a.max_side else [])
    runs: list[dict[str, Any]] = []
    cells: dict[str, Any] = {}
    for rep in range(a.reps):
        for engine in ("local", "ray"):
            out = tmp / f"{engine}{rep}"
            opts = ["--jobs", str(a.workers)] if engine == "local" else ["--engine", "ray", "--workers", str(a.workers)]
            wall = _run([*base, *opts, "--out", str(out)])
            meta = json.loads((out / "summary.json").read_text())["meta"]
            runs.append(
                {
                    "engine": engine,
                    "rep": rep,
                    "wall_s": round(wall, 2),
                    "eval_s": round(meta["seconds"], 2),
                    "photos_per_s": round(meta["photos_per_s"], 4),
                    "per_worker": meta.get("per_worker"),
                    "failed": len(meta.get("failed", [])),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
            c = _cells(out / "rows.csv")
            cells.setdefault(engine, c)
            if c != cells[engine] or (engine == "ray" and c != cells["local"]):
                sys.exit(f"rows of {engine} run {rep} differ from the first local run")

    def med(engine: str, k: str) -> float:
        return statistics.median(r[k] for r in runs if r["engine"] == engine)

    summary = {
        "command": "python scripts/bench_eval_engines.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_at_end": list(os.getloadavg()),
        },
        "photos": a.limit,
        "workers": a.workers,
        "reps": a.reps,
        "cells_per_photo": 2,
        "rows_identical": True,
        "median": {e: {k: med(e, k) for k in ("wall_s", "eval_s", "photos_per_s")} for e in ("local", "ray")},
        "ray_over_local_eval_s": round(med("ray", "eval_s") / med("local", "eval_s"), 3),
        "ray_over_local_wall_s": round(med("ray", "wall_s") / med("local", "wall_s"), 3),
        "runs": runs,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench_engines.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [
        "| engine | workers | photos | median wall s | median eval s | median photos/s |",
        "|---|---|---|---|---|---|",
    ]
    for e in ("local", "ray"):
        m = summary["median"][e]
        lines.append(
            f"| {e} | {a.workers} | {a.limit} | {m['wall_s']:.1f} | {m['eval_s']:.1f} | {m['photos_per_s']:.3f} |"
        )
    lines.append("")
    lines.append(
        f"Ray / local: eval time x{summary['ray_over_local_eval_s']:.3f}, wall time "
        f"x{summary['ray_over_local_wall_s']:.3f}; rows identical: yes."
    )
    (a.out / "bench_engines.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
