"""The evaluation runner: every missing (photo, policy, scheme, Bob SNR, Eve SNR) cell -> one row.

It finds the cells ``rows.csv`` still lacks, hands their photos to an engine whose
workers (:class:`~vlm_privsc.evaluation.worker.PhotoWorker`) evaluate them, and appends
each photo's rows as they arrive, so an interrupted run resumes where it stopped.

Where the photos are evaluated (this process, a local process pool, Ray actors) is an
:class:`~vlm_privsc.evaluation.engines.Engine`; this module alone writes the rows.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlm_privsc.config import PipelineConfig
from vlm_privsc.evaluation.dataset import FaceItem
from vlm_privsc.evaluation.engines import (
    Engine,
    EngineReport,
    LocalEngine,
    PhotoFailure,
    PhotoResult,
    PhotoTask,
    WorkerSpec,
    stream_results,
)
from vlm_privsc.evaluation.labels import Box
from vlm_privsc.evaluation.rows import (
    ROW_FIELDS,
    EvalGrid,
    cell_key,
    drop_torn_line,
    read_rows,
    row_key,
    upgrade_header,
)
from vlm_privsc.io.atomic import atomic_write_text


def config_fingerprint(config: PipelineConfig) -> dict[str, Any]:
    """What the rows of an evaluation depend on: the pipeline configuration, the privacy
    database's digest and the JSCC weights' hash (a retrained default model keeps its name)."""
    import hashlib

    from vlm_privsc.db import load_db
    from vlm_privsc.jscc.weights import DEFAULT_MODEL, weights_path

    m = config.jscc.model
    path = Path(m) if m and m.endswith(".safetensors") else weights_path(m or DEFAULT_MODEL)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing"
    return {
        "pipeline": config.model_dump(mode="json"),
        "db_digest": load_db(config.guard.db).digest()[:16],
        "jscc_weights_sha256": digest,
    }


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            d = _first_difference(a.get(k), b.get(k), f"{where}.{k}" if where else str(k))
            if d:
                return d
        return None
    return None if a == b else f"{where}: {a!r} then, {b!r} now"


def _check_fingerprint(out: Path, fp: dict[str, Any], have_rows: bool) -> None:
    """Rows in ``out`` must come from the same configuration: resuming across a changed
    model, database or preset would silently mix two experiments."""
    import json

    from vlm_privsc.errors import ConfigError

    path = out / "config.json"
    if path.is_file() and have_rows:
        old = json.loads(path.read_text())
        diff = _first_difference(old, fp)
        if diff:
            raise ConfigError(
                f"{out} holds rows of another configuration ({diff}); use another --out or delete that folder"
            )
    atomic_write_text(path, json.dumps(fp, indent=1, sort_keys=True))


@dataclass
class EvalProgress:
    """Where a run stands, handed to ``on_image`` after every photo."""

    done: int = 0
    """Photos finished (written, or given up after their tries)."""
    total: int = 0
    rows: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)
    last: PhotoResult | None = None
    """The result just written (its ``worker`` says which process made it)."""


@dataclass(frozen=True)
class EvalRun:
    """All rows of ``rows.csv`` after a run, and how the engine spread its photos."""

    rows: list[dict[str, Any]]
    report: EngineReport


def evaluate(
    items: list[FaceItem],
    grid: EvalGrid,
    config: PipelineConfig,
    out: Path,
    engine: Engine | None = None,
    on_image: Callable[[EvalProgress], None] | None = None,
    labels: dict[str, list[Box]] | None = None,
) -> EvalRun:
    """Evaluate every missing cell on ``engine`` (default: this process), appending each
    photo's rows to ``out/rows.csv`` as they arrive; this process alone writes the file.
    ``labels``: reference boxes per photo (:mod:`vlm_privsc.evaluation.labels`) for the
    guard's coverage; photos missing from them get empty coverage columns. A photo that
    fails twice is left out of the rows (a re-run tries it again) and listed in
    ``report.failures``; Ctrl-C stops the workers and keeps every row written so far."""
    from vlm_privsc.registry import external_entries

    engine = engine or LocalEngine(1)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "rows.csv"
    drop_torn_line(rows_path)
    existing = read_rows(rows_path)
    _check_fingerprint(out, config_fingerprint(config), bool(existing))
    upgrade_header(rows_path, existing)
    have = {row_key(r) for r in existing}
    tasks: list[PhotoTask] = []
    for i, it in enumerate(items):
        keys = {cell_key(it.key, p, s, grid.channel, b, e, grid.seed + i) for (p, s, b, e) in grid.cells()}
        if keys - have:
            tasks.append(PhotoTask(i, it, frozenset(keys - have)))
    prog = EvalProgress(total=len(tasks))
    if not tasks:
        return EvalRun(existing, engine.report)
    from vlm_privsc.evaluation.worker import build_gallery

    spec = WorkerSpec(
        config.model_dump(mode="json"), grid, build_gallery(items, config), labels, tuple(external_entries())
    )
    new_file = not rows_path.exists() or rows_path.stat().st_size == 0
    with rows_path.open("a", newline="") as f, engine:
        writer = csv.DictWriter(f, fieldnames=ROW_FIELDS)
        if new_file:
            writer.writeheader()
            f.flush()

        def failed(_: PhotoFailure) -> None:
            prog.done += 1
            prog.failed += 1
            if on_image:
                on_image(prog)

        engine.start(spec)
        for res in stream_results(engine, tasks, on_failure=failed):
            for r in res.rows:
                writer.writerow(r)
                existing.append({k: str(v) for k, v in r.items()})
                prog.rows += 1
            f.flush()
            os.fsync(f.fileno())
            prog.done += 1
            prog.last = res
            if on_image:
                on_image(prog)
    return EvalRun(read_rows(rows_path), engine.report)


def run_evaluation(
    items: list[FaceItem],
    grid: EvalGrid,
    config: PipelineConfig,
    out: Path,
    jobs: int = 1,
    on_image: Callable[[EvalProgress], None] | None = None,
    labels: dict[str, list[Box]] | None = None,
    engine: Engine | None = None,
) -> list[dict[str, Any]]:
    """:func:`evaluate` on ``engine`` (default: ``jobs`` local processes); returns all rows."""
    return evaluate(items, grid, config, out, engine or LocalEngine(jobs), on_image, labels).rows


def grid_to_json(grid: EvalGrid) -> dict[str, Any]:
    return asdict(grid)
