"""Per-stage time and peak memory of ``vlmsc run`` on one photo (CPU).

Loads the pipeline once (timed), runs it ``--repeats`` times on a photo (default the
512x512 scikit-image astronaut) and prints a table: mean/min seconds per stage, the
whole run, model loading, and the process's peak resident memory (ru_maxrss) after
loading and after the runs. Targets (issue 4): <= 3 s per photo after loading and
<= 10 s to load on 2 CPU cores.

    python scripts/bench_pipeline.py --json eval/results/pipeline/bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default="skimage:astronaut")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--policy", default="faces")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jscc-model", default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--key",
        type=Path,
        default=None,
        help="shared key file (vlmsc key new); default: a fresh random key known to no one",
    )
    a = ap.parse_args(argv)

    t_import = time.perf_counter()
    import torch
    from rich.console import Console
    from rich.table import Table

    from vlm_privsc.config import load_preset, override
    from vlm_privsc.io import load_image
    from vlm_privsc.keys import optional_key
    from vlm_privsc.pipeline import Pipeline

    torch.set_num_threads(a.threads)
    import_s = time.perf_counter() - t_import
    cfg = override(load_preset(a.preset), {"guard": {"policy": a.policy}, "jscc": {"model": a.jscc_model}})
    img = load_image(a.image)
    t0 = time.perf_counter()
    pipe = Pipeline(cfg, key=optional_key(a.key)).load()
    load_s = time.perf_counter() - t0
    rss_loaded = _peak_rss_mb()

    per_stage: dict[str, list[float]] = {}
    totals = []
    for i in range(a.repeats + 1):  # the first run warms caches and is not counted
        t0 = time.perf_counter()
        res = pipe.run(img.tensor, img.source, seed=i)
        total = time.perf_counter() - t0
        if i == 0:
            continue
        totals.append(total)
        for k, v in {**res.guard.timings, **res.timings}.items():
            per_stage.setdefault(k, []).append(v)
    rss_run = _peak_rss_mb()

    rows = {k: {"mean_s": statistics.mean(v), "min_s": min(v)} for k, v in per_stage.items()}
    out = {
        "command": "python scripts/bench_pipeline.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "image": a.image,
        "image_size": list(img.tensor.shape[-2:]),
        "policy": a.policy,
        "threads": a.threads,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "import_s": round(import_s, 3),
        "load_s": round(load_s, 3),
        "run_mean_s": round(statistics.mean(totals), 3),
        "run_min_s": round(min(totals), 3),
        "peak_rss_mb_after_load": round(rss_loaded, 1),
        "peak_rss_mb_after_runs": round(rss_run, 1),
        "stages": {k: {kk: round(vv, 4) for kk, vv in v.items()} for k, v in rows.items()},
        "targets": {"run_s": 3.0, "load_s": 10.0},
    }
    t = Table(
        title=f"vlmsc run on {a.image} ({out['image_size'][1]}x{out['image_size'][0]}), policy {a.policy}, {a.threads} threads"
    )
    t.add_column("stage")
    t.add_column("mean s", justify="right")
    t.add_column("min s", justify="right")
    for k, stage in rows.items():
        t.add_row(k, f"{stage['mean_s']:.3f}", f"{stage['min_s']:.3f}")
    t.add_row("[b]whole run[/b]", f"{out['run_mean_s']:.3f}", f"{out['run_min_s']:.3f}")
    t.add_row("[b]load models[/b]", f"{load_s:.3f}", "")
    Console().print(t)
    Console().print(
        f"peak RSS: {rss_loaded:.0f} MB after loading, {rss_run:.0f} MB after {a.repeats} runs; "
        f"targets: run <= 3 s ({'met' if out['run_mean_s'] <= 3 else 'NOT met'}), "
        f"load <= 10 s ({'met' if load_s <= 10 else 'NOT met'})"
    )
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
