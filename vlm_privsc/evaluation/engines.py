"""Where the photos of an evaluation are evaluated: this machine, or a Ray cluster.

An :class:`Engine` receives :class:`PhotoTask` s and hands back :class:`PhotoResult` s;
it never touches ``rows.csv``. The one process that owns the rows (the runner) submits
the photos, writes each result as it arrives, and decides what a failure means
(:func:`stream_results`: a photo whose worker died or raised is tried once more, a photo
that fails twice is given up and reported). So resume, the configuration fingerprint,
the torn-row repair and the summary are the same whichever engine ran the photos, and so
are the rows: every worker runs the same :class:`~vlm_privsc.evaluation.worker.PhotoWorker`
with the same per-photo seed (bit for bit given the same key and the same torch threads per
worker: float sums depend on the thread count).

::

    runner ──submit(PhotoTask)──► Engine ──► worker 1 (pipeline loaded once) ─┐
      ▲                              │   ──► worker 2                          │
      └──── next_result() ◄──────────┴──────── PhotoResult (rows | error) ◄────┘

Engines: :class:`LocalEngine` (in this process, or a pool of spawned processes) and
:class:`RayEngine` (one Ray actor per worker; ``pip install vlm-privsc[ray]``).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vlm_privsc.errors import ConfigError, InputError, VlmscError
from vlm_privsc.evaluation.dataset import FaceItem
from vlm_privsc.evaluation.labels import Box
from vlm_privsc.registry import PluginEntry

MAX_ATTEMPTS = 2
"""A photo is tried at most this often (a worker that died with it counts as a try)."""


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build its pipeline once and evaluate any photo."""

    config: dict[str, Any]
    """The pipeline configuration (``PipelineConfig.model_dump(mode="json")``)."""
    grid: Any
    """The :class:`~vlm_privsc.evaluation.runner.EvalGrid`."""
    gallery: dict[str, Any]
    """Re-ID gallery of the originals (:func:`~vlm_privsc.evaluation.worker.build_gallery`)."""
    labels: dict[str, list[Box]] | None = None
    plugins: tuple[PluginEntry, ...] = ()
    """Backends registered outside the package (:func:`vlm_privsc.registry.external_entries`)."""


@dataclass(frozen=True)
class PhotoTask:
    """One photo's missing cells."""

    index: int
    """Position of the photo in the data set (its seed is ``grid.seed + index``)."""
    item: FaceItem
    todo: frozenset[str]
    """The :func:`~vlm_privsc.evaluation.rows.cell_key` s still to evaluate."""
    data: bytes | None = None
    """The photo file's bytes when shipped to a worker that may not see the driver's files."""


@dataclass(frozen=True)
class PhotoResult:
    """What a worker made of one task: its rows, or the error that stopped it."""

    task: PhotoTask
    rows: tuple[dict[str, Any], ...] = ()
    worker: str = ""
    """``host:pid`` of the worker process."""
    seconds: float = 0.0
    error: str | None = None
    """``Type: message`` when the photo failed (the worker raised or died)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class PhotoFailure:
    """A photo given up after :data:`MAX_ATTEMPTS` tries (reported in the summary)."""

    image: str
    error: str
    attempts: int
    workers: tuple[str, ...]


@dataclass
class EngineReport:
    """How the photos were spread: per-worker counts, replaced workers, failures."""

    engine: str
    workers: int
    per_worker: dict[str, int] = field(default_factory=dict)
    """Photos evaluated per worker (``host:pid``), a dead worker's included."""
    restarted: int = 0
    """Workers started again after one died."""
    failures: list[PhotoFailure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "workers": self.workers,
            "per_worker": dict(sorted(self.per_worker.items())),
            "restarted": self.restarted,
            "failed": [
                {"image": f.image, "error": f.error, "attempts": f.attempts, "workers": list(f.workers)}
                for f in self.failures
            ],
        }


class EngineError(VlmscError):
    """The engine cannot go on (no worker left, Ray missing or unreachable): one line, exit 2."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _error_text(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0] if msg else ''}".rstrip(": ")


class PhotoWorker:
    """The worker side of every engine: builds the pipeline once, then evaluates tasks,
    turning any exception into a failed :class:`PhotoResult` (the run goes on)."""

    def __init__(self, spec: WorkerSpec, threads: int) -> None:
        import vlm_privsc.pipeline  # noqa: F401  (every stage's registry, before the plugins)
        from vlm_privsc.evaluation.worker import PhotoWorker
        from vlm_privsc.registry import restore_entries

        restore_entries(list(spec.plugins))
        self.grid = spec.grid
        self.worker = PhotoWorker(spec.config, spec.gallery, threads, spec.labels)
        self.id = worker_id()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def _materialise(self, task: PhotoTask) -> FaceItem:
        """The task's photo as a file here: its own path, or the shipped bytes written out."""
        if task.data is None:
            return task.item
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="vlmsc-photo-")
        p = Path(self._tmp.name) / f"{task.index}{task.item.path.suffix}"
        p.write_bytes(task.data)
        return replace(task.item, path=p)

    def run(self, task: PhotoTask) -> PhotoResult:
        """Evaluate one photo; the result carries the task without the photo's bytes."""
        t0 = time.perf_counter()
        item = task.item
        light = replace(task, data=None)
        try:
            item = self._materialise(task)
            rows = self.worker.evaluate(item, task.index, self.grid, set(task.todo))
            return PhotoResult(light, tuple(rows), self.id, time.perf_counter() - t0)
        except Exception as e:  # one photo's failure is reported, the run goes on
            if not isinstance(e, VlmscError):
                traceback.print_exc()  # a bug, not bad input: keep the trace in the worker's log
            err = _error_text(e).replace(str(item.path), task.item.key)
            return PhotoResult(light, (), self.id, time.perf_counter() - t0, error=err)
        finally:
            if item is not task.item:
                item.path.unlink(missing_ok=True)  # the shipped copy: one photo on disk at a time


class Engine(ABC):
    """Evaluates photo tasks somewhere; submit them, then collect one result per task."""

    name: str = "engine"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.report = EngineReport(self.name, self.workers)

    @abstractmethod
    def start(self, spec: WorkerSpec) -> None:
        """Start the workers (each loads the pipeline once); raises a user error if they cannot."""

    @abstractmethod
    def submit(self, task: PhotoTask) -> None:
        """Queue a task."""

    @abstractmethod
    def next_result(self) -> PhotoResult:
        """Block until some queued task is done (or lost with its worker) and return it."""

    @abstractmethod
    def pending(self) -> int:
        """Tasks queued or running."""

    def close(self) -> None:  # noqa: B027  (optional hook: engines without workers have nothing to stop)
        """Stop the workers (also after Ctrl-C); idempotent."""

    def describe(self) -> str:
        return f"{self.name}, {self.workers} worker{'s' if self.workers != 1 else ''}"

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stream_results(
    engine: Engine,
    tasks: Iterable[PhotoTask],
    attempts: int = MAX_ATTEMPTS,
    on_failure: Callable[[PhotoFailure], None] | None = None,
) -> Iterator[PhotoResult]:
    """Submit every task and yield each successful result once, in completion order.

    A failed try (the worker raised, or died with the photo) re-queues the photo until it
    has been tried ``attempts`` times; then it is recorded in ``engine.report.failures``
    and the others go on. A result for a task already answered is dropped, so no row is
    ever written twice.
    """
    tries: dict[int, list[str]] = {}
    answered: set[int] = set()
    for t in tasks:
        tries[t.index] = []
        engine.submit(t)
    while engine.pending():
        r = engine.next_result()
        i = r.task.index
        if i in answered:
            continue
        if r.worker:
            engine.report.per_worker.setdefault(r.worker, 0)
        if r.ok:
            answered.add(i)
            engine.report.per_worker[r.worker] += 1
            yield r
            continue
        tries[i].append(r.worker)
        if len(tries[i]) < attempts:
            engine.submit(r.task)
            continue
        answered.add(i)
        f = PhotoFailure(r.task.item.key, r.error or "failed", len(tries[i]), tuple(tries[i]))
        engine.report.failures.append(f)
        if on_failure:
            on_failure(f)


class LocalEngine(Engine):
    """This machine: in this process (one worker) or a pool of spawned processes, each
    with ``cpu_count // workers`` torch threads (or ``threads``). An exception inside a photo
    is retried and reported like on Ray; a pool process that dies ends the run with one line
    (the rows so far kept), since the pool cannot replace it: the Ray engine can."""

    name = "local"

    def __init__(self, workers: int = 1, threads: int | None = None) -> None:
        super().__init__(workers)
        self.threads = threads or max(1, (os.cpu_count() or 2) // self.workers)
        self._queue: deque[PhotoTask] = deque()
        self._inproc: PhotoWorker | None = None
        self._pool: Any = None
        self._futures: set[Any] = set()

    def start(self, spec: WorkerSpec) -> None:
        if self.workers == 1:
            self._inproc = PhotoWorker(spec, self.threads)
            return
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=mp.get_context("spawn"), initializer=_pool_init, initargs=(spec, self.threads)
        )

    def submit(self, task: PhotoTask) -> None:
        if self._pool is None:
            self._queue.append(task)
        else:
            self._futures.add(self._pool.submit(_pool_task, task))

    def pending(self) -> int:
        return len(self._queue) + len(self._futures)

    def next_result(self) -> PhotoResult:
        if self._pool is None:
            assert self._inproc is not None, "start() first"
            return self._inproc.run(self._queue.popleft())
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        done, _ = wait(self._futures, return_when=FIRST_COMPLETED)
        fut = next(iter(done))
        self._futures.discard(fut)
        try:
            return fut.result()
        except BrokenProcessPool:
            raise EngineError(
                "a local worker process died (killed or out of memory); the rows written so far "
                "are kept: re-run the same command to resume (--engine ray replaces dead workers)"
            ) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()
        self._queue.clear()


_POOL_WORKER: PhotoWorker | None = None


def _pool_init(spec: WorkerSpec, threads: int) -> None:
    global _POOL_WORKER
    _POOL_WORKER = PhotoWorker(spec, threads)


def _pool_task(task: PhotoTask) -> PhotoResult:
    assert _POOL_WORKER is not None
    return _POOL_WORKER.run(task)


def import_ray() -> Any:
    """The ``ray`` module, or one clear line (exit 2) saying how to install it."""
    try:
        import ray
    except ImportError:
        raise EngineError(
            "--engine ray needs Ray: pip install 'vlm-privsc[ray]' (or pip install 'ray>=2.40')"
        ) from None
    return ray


class _RayWorker:
    """The body of a Ray actor: a :class:`PhotoWorker` whose start-up error is kept, so
    the driver can show it as the one line it is instead of a dead actor."""

    def __init__(self, spec: WorkerSpec, threads: int) -> None:
        self.error: tuple[str, str] | None = None
        self.id = worker_id()
        try:
            self.w: PhotoWorker | None = PhotoWorker(spec, threads)
        except Exception as e:  # reported by ready()
            self.w = None
            self.error = (
                "user" if isinstance(e, VlmscError) else "bug",
                _error_text(e) if not isinstance(e, VlmscError) else str(e),
            )
            if not isinstance(e, VlmscError):
                traceback.print_exc()

    def ready(self) -> tuple[str, tuple[str, str] | None]:
        return self.id, self.error

    def run(self, task: PhotoTask) -> PhotoResult:
        if self.w is None:
            return PhotoResult(
                task, (), self.id, 0.0, error=f"worker could not start: {self.error[1] if self.error else ''}"
            )
        return self.w.run(task)


class RayEngine(Engine):
    """One Ray actor per worker, each loading the pipeline once; one photo in flight per
    actor, so a worker that dies loses only the photo it was evaluating, which is re-queued
    (:func:`stream_results`) while a fresh actor takes its place.

    ``address``: ``None`` starts a local Ray instance for this run and stops it after
    (``num_cpus`` = max(CPU count, the workers' CPUs)); ``"auto"`` or ``"HOST:PORT"`` joins a
    running cluster (``ray start --head``) and leaves it running. A Ray already initialised
    in this process (a notebook, the tests) is used as it is. ``workers``: ``None`` = as
    many as the cluster's CPUs (or GPUs, with ``gpus_per_worker``) hold. Each actor asks
    Ray for ``cpus_per_worker`` CPUs (its torch threads) and ``gpus_per_worker`` GPUs
    (fractions share one GPU). ``ship_photos``: send each photo's bytes with its task, so
    workers on other machines need no shared file system (files that the preset names by
    path, a database YAML or weights, must still exist on every node).
    """

    name = "ray"

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        cpus_per_worker: float = 1.0,
        gpus_per_worker: float = 0.0,
        ship_photos: bool = True,
        max_replacements: int | None = None,
        start_timeout_s: float = 300.0,
    ) -> None:
        if cpus_per_worker <= 0 or gpus_per_worker < 0:
            raise ConfigError("Ray workers need cpus_per_worker > 0 and --gpus-per-worker >= 0")
        super().__init__(workers or 1)
        self._asked = workers
        self.address = address
        self.cpus = cpus_per_worker
        self.gpus = gpus_per_worker
        self.ship = ship_photos
        self.max_replacements = max_replacements
        self.start_timeout_s = start_timeout_s
        self._ray: Any = None
        self._owns = False
        self._cls: Any = None
        self._args: tuple[Any, int] | None = None
        self._actors: dict[Any, str] = {}  # live actor -> worker id
        self._starting: dict[Any, Any] = {}  # ready() ref -> actor still loading its pipeline
        self._idle: deque[Any] = deque()
        self._queue: deque[PhotoTask] = deque()
        self._inflight: dict[Any, tuple[Any, PhotoTask]] = {}  # run() ref -> (actor, task)
        self._unsent: deque[PhotoResult] = deque()  # photos that could not be read for sending

    # -- start-up ---------------------------------------------------------------------------
    def _init_ray(self) -> None:
        ray = self._ray = import_ray()
        if ray.is_initialized():
            return
        kw: dict[str, Any] = dict(
            include_dashboard=False, log_to_driver=False, logging_level="ERROR", configure_logging=False
        )
        env = {k: os.environ[k] for k in ("VLMSC_KEY", "VLMSC_WEIGHTS_DIR") if os.environ.get(k)}
        if env:  # the workers read the key and the weights folder as the local engine's do
            kw["runtime_env"] = {"env_vars": env}
        try:
            if self.address:
                ray.init(address=self.address, **kw)
            else:
                need = int(-(-self.workers * self.cpus // 1)) if self._asked else 0
                ray.init(address="local", num_cpus=max(os.cpu_count() or 1, need), **kw)  # never a stale cluster
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"the Ray cluster at {self.address!r}" if self.address else "a local Ray instance"
            raise EngineError(f"cannot start or join {where}: {_error_text(e)}") from None
        self._owns = True

    def _resources(self) -> str:
        res = self._ray.cluster_resources()
        parts = [f"{k}={res[k]:g}" for k in ("CPU", "GPU") if k in res]
        if "memory" in res:
            parts.append(f"memory={res['memory'] / 2**30:.1f} GiB")
        return ", ".join(parts) or "no resources"

    def _capacity(self) -> int:
        res = self._ray.cluster_resources()
        by_cpu = int(res.get("CPU", 1) // self.cpus)
        if self.gpus > 0:
            by_gpu = int(res.get("GPU", 0) // self.gpus)
            if by_gpu < 1:
                raise EngineError(f"--gpus-per-worker {self.gpus:g}: the Ray cluster has no GPU ({self._resources()})")
            return max(1, min(by_cpu, by_gpu))
        return max(1, by_cpu)

    def _spawn(self) -> None:
        assert self._args is not None, "start() first"
        a = self._cls.remote(*self._args)
        self._starting[a.ready.remote()] = a

    def _started(self, ref: Any) -> None:
        """A ready() answer: the actor joins the pool, or its start-up error is raised."""
        a = self._starting.pop(ref)
        try:
            wid, err = self._ray.get(ref)
        except self._ray.exceptions.RayActorError as e:
            if not self._actors and not self._starting and not self._inflight:
                raise EngineError(f"a Ray worker died while starting: {_error_text(e)}") from None
            return
        if err is not None:
            kind, msg = err
            raise VlmscError(msg) if kind == "user" else EngineError(f"a Ray worker failed to start: {msg}")
        self._actors[a] = wid
        self._idle.append(a)

    def start(self, spec: WorkerSpec) -> None:
        self._init_ray()
        ray = self._ray
        if self._asked is None:
            self.workers = self._capacity()
        elif self.gpus > 0:
            self._capacity()  # no GPU at all: one clear line now, not actors pending forever
        self.report = EngineReport(self.name, self.workers)
        if self.max_replacements is None:
            self.max_replacements = 2 * self.workers + 2
        self._cls = ray.remote(_RayWorker).options(
            num_cpus=self.cpus, num_gpus=self.gpus, max_restarts=0, max_task_retries=0
        )
        self._args = (ray.put(spec), max(1, int(self.cpus)))
        for _ in range(self.workers):
            self._spawn()
        # the first worker up (or its start-up error) before any photo is sent; the rest join as they come
        ready, _ = ray.wait(list(self._starting), num_returns=1, timeout=self.start_timeout_s)
        if not ready:
            raise EngineError(
                f"no Ray worker started within {self.start_timeout_s:g} s: asked for {self.workers} "
                f"with {self.cpus:g} CPU and {self.gpus:g} GPU each; the cluster has {self._resources()}"
            )
        self._started(ready[0])

    # -- scheduling -------------------------------------------------------------------------
    def submit(self, task: PhotoTask) -> None:
        self._queue.append(task)
        self._dispatch()

    def _dispatch(self) -> None:
        """Send queued photos to idle actors; a photo's bytes are read only now, so the
        queue of a 10^5-photo run holds names, not images."""
        while self._idle and self._queue:
            t = self._queue.popleft()
            if self.ship and t.data is None:
                try:
                    t = replace(t, data=t.item.path.read_bytes())
                except OSError as e:
                    self._unsent.append(
                        PhotoResult(
                            t,
                            (),
                            "",
                            error=_error_text(InputError(f"cannot read image {str(t.item.path)!r}: {e.strerror or e}")),
                        )
                    )
                    continue
            a = self._idle.popleft()
            self._inflight[a.run.remote(t)] = (a, t)

    def pending(self) -> int:
        return len(self._queue) + len(self._inflight) + len(self._unsent)

    def next_result(self) -> PhotoResult:
        ray = self._ray
        while True:
            self._dispatch()
            if self._unsent:
                return self._unsent.popleft()
            if not self._inflight and not self._starting:
                raise EngineError(
                    f"no Ray worker left ({self.report.restarted} restarted, limit "
                    f"{self.max_replacements}); {len(self._queue)} photos not evaluated; "
                    "re-run the same command to resume"
                )
            (ref,), _ = ray.wait([*self._inflight, *self._starting], num_returns=1)
            if ref in self._starting:
                self._started(ref)
                continue
            actor, task = self._inflight.pop(ref)
            try:
                res: PhotoResult = ray.get(ref)
                self._idle.append(actor)
            except ray.exceptions.RayActorError as e:  # killed, out of memory, node lost
                wid = self._actors.pop(actor, "?")
                res = PhotoResult(task, (), wid, 0.0, error=f"worker {wid} died ({type(e).__name__})")
                self._replace()
            except ray.exceptions.RayError as e:  # the task could not run or return (e.g. pickling)
                res = PhotoResult(task, (), self._actors.get(actor, "?"), 0.0, error=_error_text(e))
                self._idle.append(actor)
            self._dispatch()
            return res

    def _replace(self) -> None:
        """A fresh actor for a dead one; it loads the pipeline while the others go on."""
        assert self.max_replacements is not None
        if self.report.restarted < self.max_replacements:
            self.report.restarted += 1
            self._spawn()

    def close(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for a in [*self._actors, *self._starting.values()]:
            try:
                ray.kill(a)
            except Exception:  # already gone
                pass
        self._actors.clear()
        self._starting.clear()
        self._idle.clear()
        self._inflight.clear()
        self._queue.clear()
        self._unsent.clear()
        if self._owns:
            ray.shutdown()
            self._owns = False
        self._ray = None

    def describe(self) -> str:
        where = f"cluster {self.address}" if self.address else "local instance"
        gpu = f", {self.gpus:g} GPU each" if self.gpus else ""
        return f"ray {where}, {self.workers} worker{'s' if self.workers != 1 else ''}{gpu}"


@dataclass(frozen=True)
class EngineOptions:
    """What ``vlmsc eval --engine/--workers/--address/--gpus-per-worker`` asked for."""

    engine: str = "local"
    workers: int | None = None
    """Worker processes (Ray actors); ``None``: local: the ``jobs`` given to :meth:`build`
    (``--jobs``, a suite's ``jobs``, else 1); Ray: as many as the cluster's CPUs hold."""
    address: str | None = None
    """Ray only: ``auto`` or ``HOST:PORT`` of a running cluster; ``None`` starts a local instance."""
    gpus_per_worker: float = 0.0
    """Ray only: GPUs per actor (a fraction shares a GPU between actors)."""

    def check(self) -> None:
        """One clear line (exit 2) for a bad combination or a missing Ray, before any work."""
        if self.engine not in ("local", "ray"):
            raise ConfigError(f"unknown engine {self.engine!r}; valid: local, ray")
        if self.gpus_per_worker < 0:
            raise ConfigError(f"--gpus-per-worker must be >= 0, not {self.gpus_per_worker:g}")
        if self.engine == "local" and (self.address is not None or self.gpus_per_worker):
            raise ConfigError("--address and --gpus-per-worker go with --engine ray")
        if self.engine == "ray":
            import_ray()

    def build(self, jobs: int | None = None) -> Engine:
        """A fresh engine (one per evaluation: a suite makes one per run)."""
        self.check()
        if self.engine == "local":
            return LocalEngine(self.workers or jobs or 1)
        return RayEngine(self.workers, self.address, gpus_per_worker=self.gpus_per_worker)
