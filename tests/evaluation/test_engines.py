"""The engine interface without Ray: the retry policy, failures reported, the option checks."""

from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vlm_privsc.cli import app
from vlm_privsc.evaluation.dataset import FaceItem
from vlm_privsc.evaluation.engines import Engine, PhotoResult, PhotoTask, WorkerSpec, stream_results

runner = CliRunner()


class ScriptedEngine(Engine):
    """Answers tasks from a script: ``fails[index]`` failed tries before a success."""

    name = "scripted"

    def __init__(self, fails: dict[int, int], duplicate: int | None = None) -> None:
        super().__init__(2)
        self.fails = dict(fails)
        self.duplicate = duplicate
        self.queue: deque[PhotoTask] = deque()
        self.submitted: list[int] = []

    def start(self, spec: WorkerSpec) -> None:
        pass

    def submit(self, task: PhotoTask) -> None:
        self.submitted.append(task.index)
        self.queue.append(task)

    def pending(self) -> int:
        return len(self.queue)

    def next_result(self) -> PhotoResult:
        t = self.queue.popleft()
        w = f"w{len(self.submitted) % 2}"
        if self.fails.get(t.index, 0) > 0:
            self.fails[t.index] -= 1
            return PhotoResult(t, (), w, error="RuntimeError: boom")
        if t.index == self.duplicate:  # the same answer twice (e.g. a worker presumed dead answered late)
            self.duplicate = None
            self.queue.appendleft(t)
        return PhotoResult(t, ({"image": t.item.key},), w)


def _tasks(n: int) -> list[PhotoTask]:
    return [PhotoTask(i, FaceItem(f"p{i}.png", Path(f"p{i}.png"), "x"), frozenset({f"k{i}"})) for i in range(n)]


def test_a_photo_failing_once_is_retried_and_twice_is_reported():
    eng = ScriptedEngine({1: 1, 2: 5})
    got = [r.task.index for r in stream_results(eng, _tasks(4))]
    assert sorted(got) == [0, 1, 3]  # 1 succeeded on its second try; 2 was given up
    assert eng.submitted.count(1) == 2 and eng.submitted.count(2) == 2
    (f,) = eng.report.failures
    assert f.image == "p2.png" and f.attempts == 2 and f.error == "RuntimeError: boom" and len(f.workers) == 2
    assert sum(eng.report.per_worker.values()) == 3
    assert eng.report.to_json()["failed"][0]["image"] == "p2.png"


def test_a_second_answer_for_the_same_photo_is_dropped():
    eng = ScriptedEngine({}, duplicate=0)
    got = [r.task.index for r in stream_results(eng, _tasks(3))]
    assert sorted(got) == [0, 1, 2]


def test_local_engine_reports_a_failing_photo_and_goes_on(
    faces_dir: Path, fast_preset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import csv
    import json

    from vlm_privsc.evaluation import worker as rmod

    real = rmod.PhotoWorker.evaluate

    def flaky(self, item, index, grid, todo):
        if item.key == "grace/1.png":
            raise RuntimeError("decoder exploded")
        return real(self, item, index, grid, todo)

    monkeypatch.setattr(rmod.PhotoWorker, "evaluate", flaky)
    out = tmp_path / "ev"
    argv = ["eval", "--faces", str(faces_dir), "--preset", str(fast_preset), "--out", str(out), "--policy", "faces"]
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert "grace/1.png failed 2 times (RuntimeError: decoder exploded)" in res.stderr
    rows = list(csv.DictReader((out / "rows.csv").open()))
    assert len(rows) == 3 * 2 and "grace/1.png" not in {r["image"] for r in rows}
    meta = json.loads((out / "summary.json").read_text())["meta"]
    assert meta["engine"] == "local" and meta["failed"][0]["image"] == "grace/1.png"
    assert sum(meta["per_worker"].values()) == 3
    assert "failed after 2 tries: `grace/1.png`" in (out / "report.md").read_text()
    monkeypatch.setattr(rmod.PhotoWorker, "evaluate", real)
    res = runner.invoke(app, argv)  # a re-run evaluates only the photo that failed
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((out / "rows.csv").open()))
    assert len(rows) == 4 * 2 and json.loads((out / "summary.json").read_text())["meta"]["failed"] == []


def test_engine_options_are_one_line(
    faces_dir: Path, fast_preset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    base = ["eval", "--faces", str(faces_dir), "--preset", str(fast_preset), "--out", str(tmp_path / "o")]
    res = runner.invoke(app, [*base, "--address", "auto"])
    assert res.exit_code == 2 and "--address and --gpus-per-worker go with --engine ray" in res.stderr
    res = runner.invoke(app, [*base, "--engine", "spark"])
    assert res.exit_code == 2 and "unknown engine 'spark'; valid: local, ray" in res.stderr
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    res = runner.invoke(app, [*base, "--engine", "ray"])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "--engine ray needs Ray: pip install 'vlm-privsc[ray]'" in res.stderr
    assert not (tmp_path / "o").exists()


def test_local_pool_runs_plugin_backends_and_writes_the_same_rows(
    faces_dir: Path, fast_preset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two spawned processes get the test's fake backends (registered outside the package)
    and write the rows that one in-process worker with as many torch threads writes."""
    from vlm_privsc.config import load_preset
    from vlm_privsc.evaluation import EvalGrid, LocalEngine, evaluate, load_faces

    key = tmp_path / "k.key"
    assert runner.invoke(app, ["key", "new", "--out", str(key)]).exit_code == 0
    monkeypatch.setenv("VLMSC_KEY", str(key))
    grid = EvalGrid(("none", "faces"), ("none",), (10.0,), (10.0,), "awgn", 0)
    pool = LocalEngine(2)
    cells = []
    for name, engine in (("one", LocalEngine(1, threads=pool.threads)), ("pool", pool)):
        run = evaluate(load_faces(faces_dir), grid, load_preset(str(fast_preset)), tmp_path / name, engine)
        cells.append({(r["image"], r["policy"]): {k: v for k, v in r.items() if k != "seconds"} for r in run.rows})
        assert sum(run.report.per_worker.values()) == 4 and len(run.report.per_worker) <= engine.workers
    assert cells[0] == cells[1] and len(cells[0]) == 8


def test_backends_registered_outside_the_package_are_shipped_to_workers():
    from tests.guard.fakes import FixedBoxes
    from vlm_privsc.guard.detectors import DETECTORS
    from vlm_privsc.registry import Registry, external_entries, restore_entries

    entries = external_entries()
    assert ("detector", "fixed_boxes", FixedBoxes) in entries
    assert all(not getattr(f, "__module__", "").startswith("vlm_privsc") for _, _, f in entries)
    assert "mtcnn" in DETECTORS.names() and not any(n == "mtcnn" for _, n, _ in entries)
    from vlm_privsc import registry

    fresh = Registry("a test stage")
    try:
        restore_entries([("a test stage", "fake", FixedBoxes), ("no such stage", "x", FixedBoxes)])
        assert fresh.get("fake") is FixedBoxes
        restore_entries([("a test stage", "fake", FixedBoxes)])  # already there: left alone, no error
    finally:
        registry._ALL.remove(fresh)
