"""The evaluation engine: every (photo, policy, scheme, Bob SNR, Eve SNR) cell -> one row.

Per photo the original's faces are found once (identity matcher) and embedded; per
policy the guard runs once; per channel setting the pipeline transmits and both
receivers restore. Identity leakage is measured aligned on the original's faces (a
reconstruction whose face no detector finds can still leak). Rows are appended to
``rows.csv`` as they finish, so an interrupted run resumes where it stopped.

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

import numpy as np

from vlm_privsc.config import PipelineConfig
from vlm_privsc.db import BASELINE_POLICY
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
from vlm_privsc.evaluation.labels import Box, boxes_for
from vlm_privsc.evaluation.rows import (
    ROW_FIELDS,
    EvalRow,
    cell_key,
    drop_torn_line,
    read_rows,
    row_key,
    upgrade_header,
)
from vlm_privsc.io.atomic import atomic_write_text


@dataclass(frozen=True)
class EvalGrid:
    """The configurations to evaluate (the cartesian product)."""

    policies: tuple[str, ...] = (BASELINE_POLICY, "faces")
    schemes: tuple[str, ...] = ("none",)
    snrs: tuple[float, ...] = (10.0,)
    eve_snrs: tuple[float, ...] = (10.0,)
    channel: str = "awgn"
    seed: int = 0

    def cells(self) -> list[tuple[str, str, float, float]]:
        return [(p, s, b, e) for p in self.policies for s in self.schemes for b in self.snrs for e in self.eve_snrs]


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


class _Worker:
    """Holds a loaded pipeline and the Re-ID gallery; evaluates one photo's cells."""

    def __init__(
        self, config: dict[str, Any], gallery: dict[str, Any], threads: int, labels: dict[str, list[Box]] | None = None
    ) -> None:
        import torch

        from vlm_privsc.keys import KEY_ENV, load_key
        from vlm_privsc.pipeline import Pipeline

        torch.set_num_threads(max(1, threads))
        # the shared key: $VLMSC_KEY (vlmsc eval --key) or a fresh random one known to no one
        key = load_key() if os.environ.get(KEY_ENV) else None
        self.pipe = Pipeline(PipelineConfig.model_validate(config), key=key).load()
        self.gallery = gallery
        self.labels = labels

    def evaluate(self, item: FaceItem, index: int, grid: EvalGrid, todo: set[str]) -> list[dict[str, Any]]:
        from vlm_privsc.io.images import load_image, to_uint8
        from vlm_privsc.measure import covered, covered_share, psnr
        from vlm_privsc.pipeline import _resize, _resize_mask, working_size

        pipe, m = self.pipe, self.pipe.matcher
        img = load_image(item.path).tensor
        seed = grid.seed + index
        h, w = working_size(img.shape[-2], img.shape[-1], pipe.config.jscc.max_side)
        original = m.reference(to_uint8(_resize(img, (h, w))))  # faces found and embedded once per photo
        faces = list(original.faces)
        rows: list[dict[str, Any]] = []
        # Bob's restoration without the guard, per channel setting: the reference for the
        # non-private PSNR of the guarded runs, on exactly their non-private pixels
        unguarded: dict[tuple[str, float, float], Any] = {}

        def unguarded_bob(scheme: str, b: float, e: float) -> Any:
            if (scheme, b, e) not in unguarded:  # not evaluated in this call (e.g. a resumed run): recompute
                unguarded[(scheme, b, e)] = pipe.run(
                    img, item.key, seed, policy=BASELINE_POLICY, snr_db=b, eve_snr_db=e, identity=False, scheme=scheme
                ).bob.restored
            return unguarded[(scheme, b, e)]

        for policy in grid.policies:
            cells = [
                (s, b, e)
                for (p, s, b, e) in grid.cells()
                if p == policy and cell_key(item.key, p, s, grid.channel, b, e, seed) in todo
            ]
            if not cells:
                continue
            g = pipe.protect(img, seed, policy)
            mask = _resize_mask(g.mask, (h, w))[0, 0].numpy()
            face_cover = covered_share(mask, [f.box for f in faces])
            ref = boxes_for(self.labels, item.key) if self.labels is not None else None
            ref_cov = covered(mask, ref, (w / img.shape[-1], h / img.shape[-2])) if ref is not None else None
            for scheme, bob_snr, eve_snr in cells:
                t0 = time.perf_counter()
                r = pipe.run(
                    img,
                    item.key,
                    seed,
                    policy=policy,
                    snr_db=bob_snr,
                    eve_snr_db=eve_snr,
                    guard_result=g,
                    identity_reference=original,
                    scheme=scheme,
                )
                reid = tuple(
                    self._reid(item, m.embed(to_uint8(rec.restored), faces[0])) if faces else None
                    for rec in (r.eve, r.bob)
                )
                if policy == BASELINE_POLICY:
                    unguarded[(scheme, bob_snr, eve_snr)] = r.bob.restored
                ref_bob = unguarded_bob(scheme, bob_snr, eve_snr) if BASELINE_POLICY in grid.policies else None
                row = EvalRow.from_run(
                    r,
                    identity=item.identity,
                    channel=grid.channel,
                    n_faces=len(faces),
                    guard_face_coverage=face_cover,
                    labels=ref_cov,
                    reid=(reid[0], reid[1]),
                    bob_psnr_nonprivate_none_db=None if ref_bob is None else psnr(r.original, ref_bob, ~r.mask),
                    seconds=time.perf_counter() - t0,
                )
                rows.append(row.to_csv())
        return rows

    def _reid(self, item: FaceItem, emb: np.ndarray) -> int | None:
        """Top-1 re-identification against the gallery of the OTHER originals."""
        keys, ids, embs = self.gallery["keys"], self.gallery["ids"], self.gallery["embs"]
        sel = [i for i, k in enumerate(keys) if k != item.key]
        if not sel or not any(ids[i] == item.identity for i in sel):
            return None  # this identity has no other photo in the gallery
        sims = embs[sel] @ emb
        return int(ids[sel[int(np.argmax(sims))]] == item.identity)


def build_gallery(items: list[FaceItem], config: PipelineConfig) -> dict[str, Any]:
    """Embeddings of the largest face of every original (at the transmitted size)."""
    from vlm_privsc.identity import MATCHERS
    from vlm_privsc.io.images import load_image, to_uint8
    from vlm_privsc.pipeline import _resize, working_size

    m = MATCHERS.build(config.identity.matcher.name, **config.identity.matcher.params)
    keys, ids, embs = [], [], []
    for it in items:
        img = load_image(it.path).tensor
        h, w = working_size(img.shape[-2], img.shape[-1], config.jscc.max_side)
        rgb = to_uint8(_resize(img, (h, w)))
        faces = m.faces(rgb)
        if faces:
            keys.append(it.key)
            ids.append(it.identity)
            embs.append(m.embed(rgb, faces[0]))
    return {"keys": keys, "ids": ids, "embs": np.stack(embs) if embs else np.zeros((0, m.embedding_dim))}


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
