"""One leakage evaluation from its description to its output files: what ``vlmsc eval``
(with its options, or one run of a suite) does, without the terminal.

::

    job = plan(run, out, command)          # every input checked, nothing run or written
    outcome = execute(job, engine, on_image)  # rows.csv filled (resumable), summary built
    write_files(out, outcome.files)        # summary.json, report.md, plots

The CLI adds the progress bar and the tables; scripts and tests call the same three steps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlm_privsc.config import PipelineConfig
from vlm_privsc.errors import InputError
from vlm_privsc.evaluation.dataset import FaceItem, SkippedPhoto
from vlm_privsc.evaluation.engines import Engine, EngineReport
from vlm_privsc.evaluation.labels import Box
from vlm_privsc.evaluation.runner import EvalGrid, EvalProgress, evaluate, grid_to_json
from vlm_privsc.evaluation.suite import SuiteRun
from vlm_privsc.jscc.weights import DEFAULT_MODEL

_KEPT_TIMING = ("seconds", "new_rows", "images_per_s", "photos_per_s", "engine", "workers", "per_worker", "restarted")
"""The meta fields of the run that made the rows, kept when a re-run adds none."""


@dataclass(frozen=True)
class EvalJob:
    """A checked evaluation, ready to run."""

    run: SuiteRun
    out: Path
    command: str
    config: PipelineConfig
    grid: EvalGrid
    items: tuple[FaceItem, ...]
    skipped: tuple[SkippedPhoto, ...]
    labels: dict[str, list[Box]] | None


@dataclass(frozen=True)
class EvalOutcome:
    """What :func:`execute` produced."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    meta: dict[str, Any]
    engine: EngineReport
    new_rows: int
    new_photos: int
    seconds: float
    files: dict[str, bytes | dict[str, Any]]
    """``summary.json``, ``report.md`` and the plots, for :func:`~vlm_privsc.report.write_files`."""


def plan(run: SuiteRun, out: Path, command: str, strict: bool = False) -> EvalJob:
    """Check every input of ``run`` (output folder, SNRs, preset, database, policies,
    schemes, photos, labels) and return the job; one clear error for the first bad one."""
    from vlm_privsc.channel.base import check_snr_db
    from vlm_privsc.config import load_preset, override
    from vlm_privsc.db import BASELINE_POLICY, load_db
    from vlm_privsc.evaluation.dataset import load_faces, readable_photos
    from vlm_privsc.evaluation.labels import boxes_for, load_labels
    from vlm_privsc.pipeline import scheme_from_config
    from vlm_privsc.report import check_eval_folder

    check_eval_folder(out)
    for v in (*run.snr, *(run.eve_snr or ())):
        check_snr_db(v, "snr")
    cfg = override(
        override(load_preset(run.preset), run.overrides),
        {
            "guard": {"db": run.db},
            "channel": {"name": run.channel},
            "jscc": {"max_side": run.max_side, "model": run.jscc_model},
        },
    )
    pdb = load_db(cfg.guard.db)
    policies = [BASELINE_POLICY] + [p for p in run.policy if p != BASELINE_POLICY]
    for p in policies:
        pdb.policy_categories(p)  # unknown policy -> one clear line
    for sname in run.scheme:
        scheme_from_config(cfg.scheme, sname)  # unknown, training-time or not ready -> one clear line
    items, skipped = readable_photos(load_faces(run.faces, run.limit), strict=strict)
    ref = load_labels(run.labels) if run.labels else None
    if ref is not None and not any(boxes_for(ref, it.key) is not None for it in items):
        raise InputError(f"labels {run.labels!r} name none of the {len(items)} photos (match on file names)")
    snrs = tuple(run.snr)
    grid = EvalGrid(tuple(policies), tuple(run.scheme), snrs, tuple(run.eve_snr or snrs), cfg.channel.name, run.seed)
    return EvalJob(run, out, command, cfg, grid, tuple(items), tuple(skipped), ref)


def execute(job: EvalJob, engine: Engine, on_image: Callable[[EvalProgress], None] | None = None) -> EvalOutcome:
    """Evaluate the job's missing cells on ``engine`` (rows appended to ``out/rows.csv``)
    and build the summary, its metadata and the output files (not written)."""
    from vlm_privsc.evaluation.plots import bob_quality_vs_snr, leakage_vs_eve_snr, markdown_report, privacy_utility
    from vlm_privsc.evaluation.summary import summarise
    from vlm_privsc.identity import matcher_threshold

    counts = {"photos": 0, "rows": 0}

    def tick(p: EvalProgress) -> None:
        counts.update(photos=p.done - p.failed, rows=p.rows)
        if on_image:
            on_image(p)

    t0 = time.perf_counter()
    result = evaluate(list(job.items), job.grid, job.config, job.out, engine, on_image=tick, labels=job.labels)
    seconds = time.perf_counter() - t0
    summary = summarise(result.rows)
    cfg, run = job.config, job.run
    meta: dict[str, Any] = {
        "command": job.command,
        "dataset": run.faces,
        "n_images": len(job.items),
        "n_identities": len({i.identity for i in job.items}),
        "matcher": cfg.identity.matcher.name,
        "threshold": matcher_threshold(cfg.identity.matcher.name, **cfg.identity.matcher.params),
        "jscc_model": cfg.jscc.model or f"default ({DEFAULT_MODEL})",
        "channel": cfg.channel.name,
        "seconds": seconds,
        "labels": run.labels,
        "new_rows": counts["rows"],
        "images_per_s": counts["rows"] / seconds if seconds > 0 else 0.0,
        "photos_per_s": counts["photos"] / seconds if seconds > 0 else 0.0,
        "grid": grid_to_json(job.grid),
        "skipped": [{"photo": sk.key, "reason": sk.reason} for sk in job.skipped],
        **result.report.to_json(),
    }
    prev = job.out / "summary.json"
    if counts["rows"] == 0 and prev.is_file():  # nothing new: keep the timing of the run that made the rows
        try:
            old = json.loads(prev.read_text()).get("meta", {})
        except (OSError, ValueError):
            old = {}
        meta.update({k: old[k] for k in _KEPT_TIMING if k in old})
    files: dict[str, bytes | dict[str, Any]] = {
        "summary.json": {**summary, "meta": meta},
        "report.md": markdown_report(summary, meta).encode(),
        "leakage_vs_eve_snr.png": leakage_vs_eve_snr(summary["by_config"]),
        "bob_quality_vs_snr.png": bob_quality_vs_snr(summary["by_config"]),
        "privacy_utility.png": privacy_utility(summary["by_config"]),
    }
    return EvalOutcome(result.rows, summary, meta, result.report, counts["rows"], counts["photos"], seconds, files)
