"""The Ray engine on a local Ray instance (2 CPUs, one ``ray.init`` for the module): the
same rows as the local engine, a worker killed mid-run, Ctrl-C and resume."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

import vlm_privsc
from vlm_privsc.cli import app
from vlm_privsc.config import load_preset
from vlm_privsc.evaluation import EvalGrid, LocalEngine, RayEngine, evaluate, load_faces
from vlm_privsc.evaluation.runner import EvalProgress

ray = pytest.importorskip("ray")

from vlm_privsc.guard.detectors import DETECTORS  # noqa: E402


class ExplodesOnPortrait:
    """A detector that raises on portrait photos (the Grace Hopper ones): registered here,
    shipped to the Ray workers by reference (:func:`vlm_privsc.registry.external_entries`)."""

    def __init__(self, **_: object) -> None:
        pass

    def detect(self, image, prompts=()):
        if image.shape[0] > image.shape[1]:
            raise RuntimeError("detector exploded")
        return []


if "explodes_on_portrait" not in DETECTORS:
    DETECTORS.register("explodes_on_portrait")(ExplodesOnPortrait)

pytestmark = pytest.mark.slow
runner = CliRunner()
ROOT = Path(vlm_privsc.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tiny_jscc: Path) -> dict[str, Any]:
    """Four small photos (two identities), the fast preset, a shared key, and Ray."""
    import matplotlib.cbook as cb
    import skimage.data

    from tests.guard.fakes import DB_YAML

    tmp = tmp_path_factory.mktemp("ray")
    faces = tmp / "faces"
    a = Image.fromarray(skimage.data.astronaut()).resize((96, 96))
    g = Image.open(cb.get_sample_data("grace_hopper.jpg")).convert("RGB").resize((80, 96))
    for name, im in (("astro", a), ("grace", g)):
        (faces / name).mkdir(parents=True)
        im.save(faces / name / "1.png")
        im.transpose(Image.FLIP_LEFT_RIGHT).save(faces / name / "2.png")
    (tmp / "db.yaml").write_text(DB_YAML)
    preset = tmp / "preset.yaml"
    preset.write_text(
        yaml.safe_dump(
            {
                "name": "test-fast",
                "guard": {"db": str(tmp / "db.yaml"), "policy": "faces"},
                "jscc": {"model": str(tiny_jscc), "max_side": 96},
                "channel": {"name": "awgn"},
                "semantic": {"embedder": {"name": "bow_test"}},
                "identity": {"matcher": {"name": "sface"}},
            }
        )
    )
    bad_db = tmp / "bad_db.yaml"
    bad_db.write_text(DB_YAML.replace("name: fixed_boxes", "name: explodes_on_portrait", 1))
    bad = tmp / "bad_preset.yaml"
    bad.write_text(preset.read_text().replace(str(tmp / "db.yaml"), str(bad_db)))
    key = tmp / "k.key"
    assert runner.invoke(app, ["key", "new", "--out", str(key)]).exit_code == 0
    # the workers import this tree's package and tests (the fake backends), and read the same key
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
        configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "VLMSC_KEY": str(key), "OMP_NUM_THREADS": "1"}},
    )
    argv = [
        "eval",
        "--faces",
        str(faces),
        "--preset",
        str(preset),
        "--key",
        str(key),
        "--policy",
        "faces",
        "--snr",
        "10",
        "--eve-snr",
        "0",
    ]
    # the reference: the local engine in this process, with one torch thread as each Ray actor has
    # (float sums depend on the thread count, so identical rows need the same threads per worker)
    local = tmp / "local"
    with _key(key):
        evaluate(load_faces(faces), GRID, load_preset(str(preset)), local, LocalEngine(1, threads=1))
    yield {
        "tmp": tmp,
        "argv": argv,
        "reference": _cells(local),
        "key": key,
        "faces": faces,
        "preset": preset,
        "bad_preset": bad,
    }
    ray.shutdown()


GRID = EvalGrid(("none", "faces"), ("none",), (10.0,), (0.0,), "awgn", 0)
"""The grid of ``setup["argv"]`` (the baseline, the faces policy, Bob at 10 dB, Eve at 0 dB)."""


@contextlib.contextmanager
def _key(path: Path) -> Iterator[None]:
    """``$VLMSC_KEY`` for the workers of this process, as ``vlmsc eval --key`` sets it."""
    os.environ["VLMSC_KEY"] = str(path)
    try:
        yield
    finally:
        os.environ.pop("VLMSC_KEY", None)


def _cells(out: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    """Rows by cell, every column but the timing; asserts no cell is written twice."""
    rows = list(csv.DictReader((out / "rows.csv").open()))
    cells = {(r["image"], r["policy"], r["eve_snr_db"]): {k: v for k, v in r.items() if k != "seconds"} for r in rows}
    assert len(cells) == len(rows), "a cell was written twice"
    return cells


def _free_cpus(want: float = 2.0, wait_s: float = 20.0) -> float:
    """The CPUs Ray has free once the run's actors are gone."""
    t0 = time.time()
    while True:
        free = ray.available_resources().get("CPU", 0.0)
        if free >= want or time.time() - t0 > wait_s:
            return free
        time.sleep(0.2)


def test_ray_rows_equal_the_local_engines(setup: dict[str, Any]):
    out = setup["tmp"] / "ray"
    res = runner.invoke(app, [*setup["argv"], "--engine", "ray", "--workers", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert _cells(out) == setup["reference"]  # bit for bit, whichever worker ran which photo
    meta = json.loads((out / "summary.json").read_text())["meta"]
    assert meta["engine"] == "ray" and meta["workers"] == 2 and meta["failed"] == []
    assert sum(meta["per_worker"].values()) == 4
    assert "ray engine: photos per worker:" in res.output
    assert _free_cpus() == 2.0  # the actors were stopped; Ray itself (the module's) keeps running


def test_ray_worker_killed_mid_run(setup: dict[str, Any]):
    killed: list[str] = []

    def kill_first_worker(p: EvalProgress) -> None:
        if not killed and p.last is not None:  # that worker is evaluating its next photo now
            killed.append(p.last.worker)
            os.kill(int(p.last.worker.rsplit(":", 1)[1]), signal.SIGKILL)

    out = setup["tmp"] / "killed"
    run = evaluate(
        load_faces(setup["faces"]),
        GRID,
        load_preset(str(setup["preset"])),
        out,
        RayEngine(2),
        on_image=kill_first_worker,
    )
    assert killed and _cells(out) == setup["reference"]  # every row once, the same values
    rep = run.report
    assert rep.restarted >= 1 and rep.failures == [] and killed[0] in rep.per_worker
    assert sum(rep.per_worker.values()) == 4
    assert _free_cpus() == 2.0


def test_ray_interrupted_run_resumes(setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    import vlm_privsc.evaluation.job as rmod  # the evaluation job calls the runner's evaluate

    real = rmod.evaluate

    def interrupted_after_one_photo(*a: Any, **kw: Any) -> Any:
        tick = kw["on_image"]

        def on_image(p: Any) -> None:
            tick(p)
            if p.done == 1:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the run

        return real(*a, **{**kw, "on_image": on_image})

    out = setup["tmp"] / "interrupted"
    argv = [*setup["argv"], "--engine", "ray", "--workers", "2", "--out", str(out)]
    monkeypatch.setattr(rmod, "evaluate", interrupted_after_one_photo)
    res = runner.invoke(app, argv)
    monkeypatch.undo()
    assert res.exit_code == 130, res.output
    assert "interrupted" in res.stderr and "run the same command again to resume" in res.stderr
    partial = _cells(out)
    assert 0 < len(partial) < len(setup["reference"])
    assert _free_cpus() == 2.0  # Ctrl-C stopped the workers
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert _cells(out) == setup["reference"]
    assert json.loads((out / "summary.json").read_text())["meta"]["new_rows"] == len(setup["reference"]) - len(partial)


def test_ray_photo_failing_twice_is_reported_and_the_run_goes_on(setup: dict[str, Any]):
    out = setup["tmp"] / "failing"
    run = evaluate(load_faces(setup["faces"]), GRID, load_preset(str(setup["bad_preset"])), out, RayEngine(2))
    failed = {f.image: f for f in run.report.failures}
    assert set(failed) == {"grace/1.png", "grace/2.png"}
    assert all(f.attempts == 2 and f.error == "RuntimeError: detector exploded" for f in failed.values())
    assert {r["image"] for r in run.rows} == {"astro/1.png", "astro/2.png"} and len(run.rows) == 4
    assert sum(run.report.per_worker.values()) == 2 and run.report.restarted == 0
