"""``vlmsc``: the command line. Thin: it parses, builds objects, runs them, writes outputs.

Every user-facing problem (bad image, bad YAML, unknown policy, missing weights) is a
:class:`~vlm_privsc.errors.VlmscError`: printed as one line on stderr, exit code 2.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from vlm_privsc import __version__
from vlm_privsc.errors import VlmscError, os_error_line

if TYPE_CHECKING:
    from vlm_privsc.evaluation.engines import EngineOptions
    from vlm_privsc.evaluation.job import EvalJob, EvalOutcome
    from vlm_privsc.evaluation.suite import SuiteRun
    from vlm_privsc.results import RunResult

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="vlmsc",
    help="Privacy-preserving semantic communication of images (privacy guard, DeepJSCC, eavesdropper).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Inspect and validate privacy databases.", no_args_is_help=True)
train_app = typer.Typer(help="Train models.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print and save their figures.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(train_app, name="train")
app.add_typer(bench_app, name="bench")

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line on stderr and return the Exit to raise."""
    err_console.print(f"vlmsc: error: {message}", markup=False)
    return typer.Exit(code)


def user_errors(fn: F) -> F:
    """Turn VlmscError into one line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VlmscError as e:
            raise fail(str(e), e.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        console.print(f"vlmsc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    weights_dir: Annotated[
        list[Path] | None,
        typer.Option("--weights-dir", help="Folder(s) with hub model weights (also VLMSC_WEIGHTS_DIR)."),
    ] = None,
) -> None:
    """vlm-privsc: remove private content before it goes over the air; measure what leaks."""
    if weights_dir:
        from vlm_privsc.hub.weights import set_weights_dir

        try:
            set_weights_dir(weights_dir)
        except VlmscError as e:
            raise fail(str(e), e.exit_code) from None


models_app = typer.Typer(help="Model backends and their weights.", no_args_is_help=True)
app.add_typer(models_app, name="models")
key_app = typer.Typer(help="The shared secret of the transmitter and Bob.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("new")
@user_errors
def key_new(
    out: Annotated[Path, typer.Option("--out", "-o", help="The key file to create (mode 0600; never overwritten).")],
) -> None:
    """Make a random 256-bit key: give the same file to the transmitter and to Bob (--key)."""
    from vlm_privsc.keys import SharedKey, write_key

    key = SharedKey.generate()
    write_key(key, out)
    console.print(f"wrote a new key to {out} (fingerprint {key.fingerprint()}); keep it secret")


@models_app.command("list")
@user_errors
def models_list(
    preset: Annotated[str | None, typer.Option("--preset", help="Only the backends this preset uses.")] = None,
    weights_dir: Annotated[list[Path] | None, typer.Option("--weights-dir", help="Folder(s) with hub weights.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every backend of every stage: what it needs and whether it is available here."""
    from vlm_privsc.hub.cli import list_models

    list_models(preset, weights_dir, as_json)


# --- db ----------------------------------------------------------------------------
DbOpt = Annotated[Path | None, typer.Option("--db", help="A privacy database YAML merged over the default.")]


@db_app.command("list")
@user_errors
def db_list(db: DbOpt = None) -> None:
    """List the categories and policies of the database."""
    from vlm_privsc.db import load_db

    pdb = load_db(db)
    t = Table(title=f"privacy database '{pdb.name}'  digest {pdb.digest()[:16]}")
    t.add_column("category")
    t.add_column("detectors (offline)")
    t.add_column("threshold", justify="right")
    t.add_column("mask")
    t.add_column("identity")
    t.add_column("description")
    for name, c in pdb.categories.items():
        dets = ", ".join(d.name for d in c.detectors) or "(open-vocabulary only)"
        t.add_row(
            name,
            dets,
            f"{c.threshold:.2f}",
            f"{c.mask.shape}+{c.mask.dilate:g}",
            "yes" if c.identity else "no",
            c.description,
        )
    console.print(t)
    p = Table(title="policies")
    p.add_column("policy")
    p.add_column("categories")
    p.add_column("description")
    for name in pdb.policies:
        p.add_row(name, ", ".join(pdb.policy_categories(name)) or "(none)", pdb.policies[name].description)
    console.print(p)


@db_app.command("show")
@user_errors
def db_show(name: Annotated[str, typer.Argument(help="A category or policy name.")], db: DbOpt = None) -> None:
    """Show one category or policy as YAML."""
    import yaml

    from vlm_privsc.db import load_db
    from vlm_privsc.errors import UnknownNameError

    pdb = load_db(db)
    if name in pdb.categories:
        data = {"category": name, **pdb.categories[name].model_dump(mode="json")}
    elif name in pdb.policies:
        data = {
            "policy": name,
            **pdb.policies[name].model_dump(mode="json"),
            "resolved": list(pdb.policy_categories(name)),
        }
    else:
        raise UnknownNameError(
            f"no category or policy {name!r}; categories: {', '.join(pdb.categories)}; "
            f"policies: {', '.join(pdb.policies)}"
        )
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


@db_app.command("validate")
@user_errors
def db_validate(file: Annotated[Path, typer.Argument(help="The YAML file to check.")]) -> None:
    """Validate a privacy database file (exit 0 when valid, 2 when not)."""
    from vlm_privsc.db import load_db

    pdb = load_db(file)
    typer.echo(f"{file}: valid ({len(pdb.categories)} categories, {len(pdb.policies)} policies, digest {pdb.digest()})")


# --- guard -------------------------------------------------------------------------
ImageOpt = Annotated[str, typer.Option("--image", "-i", help="Photo file, or skimage:NAME (e.g. skimage:astronaut).")]
PolicyOpt = Annotated[str, typer.Option("--policy", "-p", help="Policy of the privacy database (see `vlmsc db list`).")]
OutOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="Output folder, written all-or-nothing (replaces an earlier output set there; refuses a folder of other files).",
    ),
]
FillOpt = Annotated[str, typer.Option("--fill", help="Private pixels become: mean | blur | noise | black.")]
SEED_MAX = 2**63 - 1
SeedOpt = Annotated[int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of every random draw (0 .. 2^63-1).")]


@app.command("guard")
@user_errors
def guard_cmd(
    image: ImageOpt,
    policy: PolicyOpt = "faces",
    out: OutOpt = Path("out/guard"),
    db: DbOpt = None,
    fill: FillOpt = "mean",
    detect_max_side: Annotated[
        int, typer.Option("--detect-max-side", min=64, help="Detect on a copy downscaled to this side.")
    ] = 1280,
    seed: SeedOpt = 0,
) -> None:
    """Find and remove private content: writes masked.png, mask.png, overlay.png, regions.json."""
    import torch

    from vlm_privsc.db import load_db
    from vlm_privsc.guard import PrivacyGuard
    from vlm_privsc.io import load_image
    from vlm_privsc.io.outputs import check_output_folder, write_output_set
    from vlm_privsc.report import GUARD_OUTPUTS, render_guard_outputs

    inputs: list[str | Path] = [image, *([db] if db else [])]
    check_output_folder(out, GUARD_OUTPUTS, inputs)
    pdb = load_db(db)
    guard = PrivacyGuard(pdb, policy, fill=fill, detect_max_side=detect_max_side)
    loaded = load_image(image)
    with console.status("privacy guard: detecting and masking..."):
        result = guard.load().run(loaded.tensor, torch.Generator().manual_seed(seed))
    meta = {"image": loaded.source, "db": pdb.name, "db_digest": pdb.digest(), "seed": seed}
    written = write_output_set(out, render_guard_outputs(result, meta, list(pdb.categories)), inputs)
    t = Table(title=f"privacy guard: policy '{policy}' on {loaded.source}")
    for col in ("category", "box [x0,y0,x1,y1]", "score", "detector"):
        t.add_column(col)
    for r in result.regions:
        t.add_row(r.category, str(list(r.box)), f"{r.score:.2f}", r.detector)
    console.print(t)
    console.print(
        f"{len(result.regions)} region(s), {100 * result.private_fraction:.2f}% of pixels private; "
        f"wrote {', '.join(p.name for p in written)} to {out}"
    )
    for c in result.uncovered:
        err_console.print(
            f"vlmsc: warning: category {c!r} has no offline detector; nothing was searched for it "
            "(use an open-vocabulary preset)",
            markup=False,
        )


@app.command("run")
@user_errors
def run_cmd(
    image: ImageOpt,
    policy: Annotated[
        str | None, typer.Option("--policy", "-p", help="Policy of the privacy database (preset: faces).")
    ] = None,
    out: OutOpt = Path("out/run"),
    preset: Annotated[
        str, typer.Option("--preset", help="Pipeline preset name or YAML path (see pipelines/).")
    ] = "default",
    db: DbOpt = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="awgn | rayleigh (block fading) | rayleigh_fast.")
    ] = None,
    snr: Annotated[float | None, typer.Option("--snr", help="Bob's channel SNR in dB.")] = None,
    eve_snr: Annotated[float | None, typer.Option("--eve-snr", help="Eve's channel SNR in dB.")] = None,
    fill: Annotated[
        str | None, typer.Option("--fill", help="Private pixels become: mean | blur | noise | black.")
    ] = None,
    max_side: Annotated[
        int | None, typer.Option("--max-side", min=32, help="Send the photo at most this large.")
    ] = None,
    jscc_model: Annotated[
        str | None, typer.Option("--jscc-model", help="Shipped JSCC model name or .safetensors path.")
    ] = None,
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="Privacy scheme on the symbols: none | dp | shuffle | ...")
    ] = None,
    receiver: Annotated[
        str | None,
        typer.Option(
            "--receiver",
            help="Generator of both receivers: generative (per category) | face_gan | patchmatch | pushpull | telea | sd.",
        ),
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="The shared key file (vlmsc key new); default $VLMSC_KEY.")
    ] = None,
    bob_key: Annotated[
        Path | None, typer.Option("--bob-key", help="Simulate a Bob who holds this other key (he is refused).")
    ] = None,
    eve_key: Annotated[Path | None, typer.Option("--eve-key", help="Simulate a key leaked to Eve.")] = None,
    demo_key: Annotated[
        bool, typer.Option("--demo-key", help="Run with the PUBLIC demo key (no secret: for trying the tool).")
    ] = False,
    eve_insider: Annotated[
        bool, typer.Option("--eve-insider", help="Eve also holds the transmitter's database (not the key).")
    ] = False,
    seed: SeedOpt = 0,
) -> None:
    """The whole pipeline on one photo: guard, DeepJSCC over the channel, Bob, Eve, identity leakage."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from vlm_privsc.channel.base import check_snr_db
    from vlm_privsc.config import load_preset, override
    from vlm_privsc.io import load_image
    from vlm_privsc.io.outputs import check_output_folder, write_output_set
    from vlm_privsc.pipeline import Pipeline, scheme_from_config
    from vlm_privsc.report import RUN_OUTPUTS, render_run_outputs

    for option, value in (("--snr", snr), ("--eve-snr", eve_snr)):
        if value is not None:
            check_snr_db(value, option)
    inputs: list[str | Path] = [
        image,
        *(p for p in (db, key, bob_key, eve_key) if p),
        *([preset] if preset.endswith((".yaml", ".yml")) else []),
    ]
    check_output_folder(out, RUN_OUTPUTS, inputs)
    cfg = override(
        load_preset(preset),
        {
            "guard": {"policy": policy, "db": str(db) if db else None, "fill": fill},
            "channel": {"name": channel, "snr_db": snr, "eve_snr_db": eve_snr},
            "jscc": {"model": jscc_model, "max_side": max_side},
            "inpaint": {"bob": {"name": receiver}, "eve": {"name": receiver}} if receiver else {},
            "eavesdropper": {"insider": True if eve_insider else None},
        },
    )
    scheme_from_config(cfg.scheme, scheme)  # unknown, training-time or not ready: fail before loading models
    from vlm_privsc.keys import load_key

    shared = load_key(key, demo=demo_key)
    bob_k, eve_k = (load_key(bob_key) if bob_key else None), (load_key(eve_key) if eve_key else None)
    torch_seed(seed)
    loaded = load_image(image)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as prog:
        task = prog.add_task("loading models...", total=None)
        pipe = Pipeline(cfg, key=shared, bob_key=bob_k, eve_key=eve_k).load()
        prog.update(task, description="running: guard -> JSCC -> channel -> Bob / Eve -> identity...")
        result = pipe.run(loaded.tensor, loaded.source, seed=seed, scheme=scheme)
        prog.update(task, description="writing outputs...")
        files = render_run_outputs(result)
        report = files["report.json"]
        assert isinstance(report, dict)
        report["timings"]["load_models"] = round(pipe.load_seconds, 4)
        written = write_output_set(out, files, inputs)
    _print_run_summary(result, pipe.load_seconds)
    console.print(f"wrote {', '.join(p.name for p in written)} to {out}")
    for c in result.guard.uncovered:
        err_console.print(
            f"vlmsc: warning: category {c!r} has no offline detector; nothing was searched for it", markup=False
        )
    if shared.demo:
        err_console.print(
            "vlmsc: warning: this ran with the PUBLIC demo key: anyone can open its header and undo "
            "its text transform; make a secret key with `vlmsc key new --out bob.key`",
            markup=False,
        )


@app.command("eval")
@user_errors
def eval_cmd(
    faces: Annotated[
        Path | None, typer.Option("--faces", help="Folder per identity (DIR/<id>/*.jpg) or CSV of image,identity.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output directory (default out/eval; with --suite: the suite's out)."),
    ] = None,
    policy: Annotated[
        list[str] | None, typer.Option("--policy", "-p", help="Repeatable; 'none' (the baseline) is always added.")
    ] = None,
    scheme: Annotated[
        list[str] | None, typer.Option("--scheme", help="Repeatable privacy scheme (default: none).")
    ] = None,
    snr: Annotated[list[float] | None, typer.Option("--snr", help="Repeatable Bob SNR (dB); default 10.")] = None,
    eve_snr: Annotated[
        list[float] | None, typer.Option("--eve-snr", help="Repeatable Eve SNR (dB); default: the Bob SNRs.")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="awgn | rayleigh | rayleigh_fast.")] = None,
    preset: Annotated[str, typer.Option("--preset", help="Pipeline preset name or YAML path.")] = "default",
    db: DbOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Evaluate only the first N photos (identities in turn).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Parallel worker processes (default 1, or the suite's).")
    ] = None,
    max_side: Annotated[int | None, typer.Option("--max-side", min=32, help="Send photos at most this large.")] = None,
    jscc_model: Annotated[
        str | None, typer.Option("--jscc-model", help="Shipped JSCC model name or .safetensors path.")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="CSV of reference boxes (file,x0,y0,x1,y1) for the guard's coverage."),
    ] = None,
    suite: Annotated[
        Path | None, typer.Option("--suite", help="A YAML file of named runs (eval/suites/*.yaml) instead of --faces.")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="With --suite: run only this named run (repeatable).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="With --suite: the data folder its {data} paths use.")
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="The shared key file (default $VLMSC_KEY, else a fresh random key per worker)."),
    ] = None,
    eve_insider: Annotated[
        bool, typer.Option("--eve-insider", help="Eve also holds the transmitter's database (not the key).")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Stop at the first unreadable photo (default: skip it and list it in summary.json / report.md).",
        ),
    ] = False,
    seed: SeedOpt = 0,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="local (this machine) | ray (a Ray cluster; needs the ray extra: pip install 'ray>=2.40')."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="With --engine ray: 'auto' or HOST:PORT of a running cluster (default: a local Ray started and stopped here).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes / Ray actors (default --jobs; Ray: as many as the cluster's CPUs hold).",
        ),
    ] = None,
    gpus_per_worker: Annotated[
        float,
        typer.Option("--gpus-per-worker", min=0.0, help="With --engine ray: GPUs per actor (0.25 puts four on a GPU)."),
    ] = 0.0,
) -> None:
    """Batch leakage evaluation: rows.csv, summary.json, plots and report.md in --out (resumable)."""
    from vlm_privsc.evaluation.engines import EngineOptions

    engine_opts = EngineOptions(engine, workers or (jobs if engine == "ray" else None), address, gpus_per_worker)
    engine_opts.check()  # unknown engine, Ray missing, options of the other engine: one line before any work

    from vlm_privsc.channel.base import check_snr_db

    for option, values in (("--snr", snr), ("--eve-snr", eve_snr)):  # every option before anything loads
        for v in values or ():
            check_snr_db(v, option)
    if key is not None:
        from vlm_privsc.keys import load_key

        load_key(key)  # a missing or bad key: one line before anything runs
    from vlm_privsc.evaluation.suite import SuiteRun, load_suite

    if suite is None:
        if faces is None:
            raise fail("give --faces DIR|CSV (or --suite FILE)")
        if only or data:
            raise fail("--only and --data go with --suite")
        command = "vlmsc eval " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["eval"] else "vlmsc eval (API)"
        run = SuiteRun(
            faces=str(faces),
            labels=str(labels) if labels else None,
            policy=policy or ["faces"],
            scheme=scheme or ["none"],
            snr=snr or [10.0],
            eve_snr=eve_snr,
            channel=channel,
            preset=preset,
            db=str(db) if db else None,
            limit=limit,
            max_side=max_side,
            jscc_model=jscc_model,
            seed=seed,
        )
        if eve_insider:
            run = run.model_copy(update={"overrides": {**run.overrides, "eavesdropper": {"insider": True}}})
        _eval_one(run, out or Path("out/eval"), jobs or 1, command, key=key, strict=strict, engine=engine_opts)
        return
    if faces is not None or labels is not None:
        raise fail("--suite names its own --faces and --labels; give one or the other")

    s = load_suite(suite)
    runs = {name: r.with_data(data or s.data) for name, r in s.selected(only).items()}
    for check in (True, False):  # every run's inputs are checked before the first one starts
        for name, r in runs.items():
            if not check:
                console.rule(f"suite run {name}")
            try:
                _eval_one(
                    r,
                    (out or Path(s.out)) / name,
                    jobs or s.jobs,
                    f"vlmsc eval --suite {suite} --only {name}",
                    check_only=check,
                    key=key,
                    strict=strict,
                    engine=engine_opts,
                )
            except VlmscError as e:
                raise fail(f"suite run {name!r}: {e}", e.exit_code) from None


@contextlib.contextmanager
def _key_env(key: Path | None) -> Iterator[None]:
    """``$VLMSC_KEY`` names ``key`` while the evaluation's workers start (each loads it), then is restored."""
    import os

    from vlm_privsc.keys import KEY_ENV

    if key is None:
        yield
        return
    before = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = str(key.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = before


def _eval_one(
    run: SuiteRun,
    out: Path,
    jobs: int,
    command: str,
    check_only: bool = False,
    strict: bool = False,
    key: Path | None = None,
    engine: EngineOptions | None = None,
) -> None:
    """One evaluation (``vlmsc eval`` with its options, or one run of a suite); with
    ``check_only`` just validate its inputs (a suite checks every run before the first starts).
    The work is :mod:`vlm_privsc.evaluation.job`'s; this adds the progress bar and the tables."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from vlm_privsc.evaluation import job as eval_job
    from vlm_privsc.evaluation.engines import EngineOptions
    from vlm_privsc.evaluation.runner import EvalProgress
    from vlm_privsc.report import write_files

    job = eval_job.plan(run, out, command, strict=strict)
    for sk in job.skipped:
        err_console.print(f"vlmsc: warning: skipping {sk.key}: {sk.reason}", markup=False)
    if check_only:
        return
    items = job.items
    eng = (engine or EngineOptions()).build(jobs)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[rate]}"),
        console=err_console,
    ) as prog:
        task = prog.add_task(f"evaluating photos ({eng.describe()})", total=len(items), rate="")
        new_rows = 0

        def tick(p: EvalProgress) -> None:
            nonlocal new_rows
            dt = time.perf_counter() - p.started
            new_rows = p.rows
            prog.update(
                task,
                total=p.total,
                completed=p.done,
                description=f"evaluating photos ({eng.describe()})",
                rate=f"{p.done / max(dt, 1e-9):.2f} photos/s, {p.rows / max(dt, 1e-9):.2f} cells/s"
                + (f", {p.failed} failed" if p.failed else ""),
            )

        try:
            with _key_env(key):
                outcome = eval_job.execute(job, eng, on_image=tick)
        except KeyboardInterrupt:
            prog.stop()
            raise fail(
                f"interrupted: the {new_rows} new rows are kept in {out / 'rows.csv'}; "
                "run the same command again to resume",
                130,
            ) from None
    write_files(out, outcome.files)
    _print_eval_outcome(job, outcome)


def _print_eval_outcome(job: EvalJob, outcome: EvalOutcome) -> None:
    """The tables and lines ``vlmsc eval`` prints after a run."""
    summary, engine_report, seconds = outcome.summary, outcome.engine, outcome.seconds
    out, run = job.out, job.run
    done = {"rows": outcome.new_rows, "photos": outcome.new_photos}
    t = Table(title=f"leakage evaluation: {len(job.items)} photos from {run.faces}")
    for col in ("policy", "scheme", "Bob SNR", "Eve SNR", "Eve match", "Eve Re-ID", "Bob PSNR", "Bob non-priv", "n"):
        t.add_column(col, justify="right")
    f2 = lambda v, nd=3: "-" if v is None else f"{v:.{nd}f}"  # noqa: E731
    for c in summary["by_config"]:
        t.add_row(
            c["policy"],
            c["scheme"],
            f"{c['bob_snr_db']:g}",
            f"{c['eve_snr_db']:g}",
            f2(c["eve_match_rate"]),
            f2(c["eve_reid_top1"]),
            f2(c["bob_psnr_db"], 2),
            f2(c["bob_psnr_nonprivate_db"], 2),
            str(c["n"]),
        )
    console.print(t)
    for k, v in summary["leakage_reduction"].items():
        console.print(
            f"leakage reduction {k}: " + ("n/a (no baseline match)" if v is None else f"{v['leakage_reduction']:.3f}")
        )
    console.print(
        f"{done['rows']} new rows ({done['photos']} photos) in {seconds:.1f} s: "
        f"{done['photos'] / max(seconds, 1e-9):.2f} photos/s, {done['rows'] / max(seconds, 1e-9):.2f} cells/s"
    )
    if engine_report.per_worker:
        console.print(
            f"{engine_report.engine} engine: photos per worker: "
            + ", ".join(f"{w} {n}" for w, n in sorted(engine_report.per_worker.items()))
            + (f"; {engine_report.restarted} worker(s) restarted" if engine_report.restarted else "")
        )
    for f_ in engine_report.failures:
        err_console.print(
            f"vlmsc: warning: {f_.image} failed {f_.attempts} times ({f_.error}); its rows are missing "
            "(listed in summary.json; a re-run tries it again)",
            markup=False,
        )
    console.print(f"{len(outcome.rows)} rows in all; wrote rows.csv, summary.json, report.md and 3 plots to {out}")


def torch_seed(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _print_run_summary(result: RunResult, load_s: float) -> None:
    m, ch = result.metrics, result.channel

    def f(v: Any, fmt: str = "{:.2f}") -> str:
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return "inf" if v == float("inf") else fmt.format(v)
        return str(v)

    t = Table(title=f"vlmsc run: policy '{result.guard.policy}' on {result.source}")
    t.add_column("")
    t.add_column("Bob (authorized)", justify="right")
    t.add_column("Eve (eavesdropper)", justify="right")
    t.add_row("SNR (dB)", f(ch.snr_db, "{:g}"), f(ch.eve_snr_db, "{:g}"))
    t.add_row("PSNR (dB)", f(m.psnr_received), f(m.psnr_eavesdropper))
    t.add_row("SSIM", f(m.ssim_received, "{:.3f}"), f(m.ssim_eavesdropper, "{:.3f}"))
    t.add_row(
        "identity similarity",
        f(m.identity_similarity_received, "{:.3f}"),
        f(m.identity_similarity_eavesdropper, "{:.3f}"),
    )
    t.add_row(f"identity match (>= {m.identity_threshold:.3f})", f(m.identity_leak_received), f(m.identity_leak))
    t.add_row("category recovered (text channel)", f(m.bob_category_ok), f(m.eve_category_ok))
    t.add_row("category guessed from mask shape", "", f(m.eve_category_from_shape_ok))
    console.print(t)
    regions = ", ".join(f"{r.category} {list(r.box)}" for r in result.guard.regions) or "none"
    console.print(
        f"guard: {len(result.guard.regions)} region(s) [{regions}], {100 * result.guard.private_fraction:.2f}% private | "
        f"channel {ch.type}: {ch.image_symbols} image (of {ch.image_symbols_unmasked}; the rest lie "
        f"inside the mask) + {ch.semantic_symbols} semantic symbols + "
        f"{ch.header_bits} header bits, k/n {ch.bandwidth_ratio_total:.4f} | "
        f"load {load_s:.1f} s, run {sum(result.timings.values()):.2f} s"
    )


def _register_optional() -> None:
    """Sub-commands contributed by stage packages."""
    try:
        from vlm_privsc.jscc.cli import register as register_jscc
    except ImportError:  # stage not built yet
        return
    register_jscc(train_app, bench_app)
    from vlm_privsc.inpaint.cli import register as register_inpaint

    register_inpaint(train_app)


_register_optional()


def main(argv: list[str] | None = None) -> int:
    """Console entry point. A usage error is one line and exit 2, Ctrl-C says so and exits
    130, an unexpected error prints one line and exits 1 (VLMSC_DEBUG=1 for the traceback)."""
    try:  # typer >= 0.24 vendors click; older typer uses the click package
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    except ImportError:  # pragma: no cover
        from click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # type: ignore[assignment]

    try:
        rv = app(args=argv, prog_name="vlmsc", standalone_mode=False)
    except NoArgsIsHelpError as e:  # `vlmsc db`: the group's help
        if e.ctx is not None:
            typer.echo(e.ctx.get_help())
        return 0
    except ClickException as e:  # usage errors: typer would draw a box of many lines
        ctx = getattr(e, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if isinstance(e, UsageError) and ctx is not None else ""
        err_console.print(f"vlmsc: error: {' '.join(e.format_message().split())}{hint}", markup=False)
        return e.exit_code
    except typer.Abort:
        err_console.print("vlmsc: interrupted", markup=False)
        return 130
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except KeyboardInterrupt:
        err_console.print("vlmsc: interrupted", markup=False)
        return 130
    except OSError as e:
        if e.errno == errno.EPIPE:  # `vlmsc ... | head`: the reader left; not an error of ours
            return 1
        if os.environ.get("VLMSC_DEBUG"):
            raise
        if e.filename is None:  # no file to name: a bug, reported as one
            err_console.print(
                f"vlmsc: internal error: {e.__class__.__name__}: {e} (set VLMSC_DEBUG=1 for the traceback)",
                markup=False,
            )
            return 1
        err_console.print(f"vlmsc: error: {os_error_line(e)}", markup=False)  # the environment: a file we could not use
        return 2
    except VlmscError as e:  # a command not wrapped by user_errors (e.g. one a stage package adds)
        err_console.print(f"vlmsc: error: {e}", markup=False)
        return e.exit_code
    except Exception as e:  # a bug, not a user error
        if os.environ.get("VLMSC_DEBUG"):
            raise
        err_console.print(
            f"vlmsc: internal error: {e.__class__.__name__}: {e} (set VLMSC_DEBUG=1 for the traceback)", markup=False
        )
        return 1
    if rv == 130:  # typer turns Ctrl-C into Exit(130) and returns its code
        err_console.print("vlmsc: interrupted", markup=False)
    return int(rv) if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
