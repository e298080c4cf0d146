"""Training DeepJSCC / ADJSCC end to end through a differentiable channel.

Data (``data_mix``): ``cifar`` -- CIFAR-10 (JPEG tarball + the lossless train subset) and
random 32x32 crops of larger photos at several scales; ``photos`` (default of ``resjscc``) --
random 64-256 px crops of BSDS500 and the face sets plus CIFAR-10 batches, about
``batch_pixels`` pixels a batch (see :mod:`vlm_privsc.jscc.data`); or any folder of images.
Loss: MSE. Optimiser: Adam with a short warm-up and cosine decay. The SNR of each image
is drawn uniformly from ``[snr_min, snr_max]`` dB so one SNR-adaptive model serves the
whole range. Devices via ``accelerate`` (a GPU whenever one is visible); checkpoints
(``accelerator.save_state``) every ``checkpoint_every`` steps under ``out``, resumed with
``resume=True``. ``hours`` is a budget of training time over all (re)starts: the cosine
schedule then runs on ``max(step fraction, time fraction)`` and the run stops, checkpointed
and exported, when the budget is spent.
"""

from __future__ import annotations

import json
import math
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlm_privsc.channel.models import AWGNChannel, RayleighChannel
from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.jscc import data as jdata
from vlm_privsc.jscc.evaluate import evaluate, to_tensor
from vlm_privsc.jscc.models import DeepJSCC, default_config, latent_channels_for_ratio, stride_of
from vlm_privsc.jscc.weights import save_model, weights_path


@dataclass(frozen=True)
class TrainOptions:
    """Everything that defines one training run (written into the weights' metadata)."""

    ratio: str = "1/6"
    arch: str = "adjscc"
    channels: tuple[int, int, int, int] | None = None  # default: the arch's (adjscc 16,32,32,32)
    res_blocks: tuple[int, int] | None = None  # resjscc only (default 1, 1)
    norm: str | None = None  # resjscc only: encoder normalisation (gdn, sgdn, prelu; default: the arch's)
    dec_norm: str | None = None  # resjscc only: decoder activation (prelu, isgdn)
    linear_skip: bool | None = None  # resjscc only: the linear patch path beside the deep one
    name: str | None = None  # default: f"{arch}-r{num}_{den}"
    data: str | None = None  # shared data folder (CIFAR tarball, photos)
    images: str | None = None  # or: a folder of images to crop from (tests, custom data)
    steps: int = 10_000
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 200
    snr_min: float = 0.0
    snr_max: float = 20.0
    rayleigh_fraction: float = 0.0  # share of batches sent through block Rayleigh (ZF)
    photo_fraction: float = 0.25
    seed: int = 0
    out: str = "runs/jscc"
    resume: bool = False
    checkpoint_every: int = 1000
    eval_every: int = 1000
    eval_images: int = 500
    export: str | None = None  # folder for jscc_<name>.safetensors (+ .json)
    stop_at: int | None = None  # stop (checkpointed) at this step without finishing: time-slicing, tests
    init: str | None = None  # warm start: copy every same-shaped tensor from this weights file
    threads: int = 2
    progress: bool = True
    hours: float | None = None  # training-time budget over all (re)starts
    data_mix: str | None = None  # "cifar" or "photos" (default: photos for resjscc, else cifar)
    batch_pixels: int = 131_072  # photos mix: pixels per batch (8 crops of 128x128)
    crop_sizes: tuple[int, ...] = (64, 96, 128, 160, 192, 224, 256)
    cifar_fraction: float = 0.15  # photos mix: share of batches of CIFAR-10 images
    precision: str = "fp32"  # or "bf16" (autocast; loss and evaluation stay fp32)
    clip_grad: float = 0.0  # > 0: clip the gradient norm
    export_dtype: str | None = None  # "fp32" or "fp16" (default: fp16 for resjscc, else fp32)

    def model_name(self) -> str:
        if self.name:
            return self.name
        latent_channels_for_ratio(self.ratio, stride_of(self.arch))  # validates the ratio
        from vlm_privsc.channel.base import parse_ratio

        fr = parse_ratio(self.ratio)
        return f"{self.arch}-r{fr.numerator}_{fr.denominator}"

    def mix(self) -> str:
        return self.data_mix or ("photos" if self.arch == "resjscc" else "cifar")


@dataclass(frozen=True)
class TrainResult:
    """What a run produced: the model, its exported file (if any) and final numbers."""

    model: DeepJSCC
    steps: int
    images_seen: int
    seconds: float
    eval_psnr_db: dict[str, float] = field(default_factory=dict)
    weights: Path | None = None
    main_process: bool = True
    """False in the other processes of an ``accelerate launch`` (they export and report nothing)."""


class _State:
    """Counters and RNG states that accelerate checkpoints beside model and optimiser."""

    def __init__(self, seed: int, device: torch.device) -> None:
        self.step = 0
        self.seconds = 0.0
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.history: list[dict[str, float]] = []
        self.runs: list[dict[str, Any]] = []  # one entry per (re)start: first step and command
        self.skipped = 0  # batches dropped for a non-finite loss
        self.images = 0  # training images seen (batches vary in size with the photos mix)
        self.pixels = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "seconds": self.seconds,
            "rng": json.dumps(self.rng.bit_generator.state),
            "gen": self.gen.get_state(),
            "history": json.dumps(self.history),
            "runs": json.dumps(self.runs),
            "skipped": self.skipped,
            "images": self.images,
            "pixels": self.pixels,
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.step = int(d["step"])
        self.seconds = float(d["seconds"])
        self.rng.bit_generator.state = json.loads(d["rng"])
        self.gen.set_state(d["gen"])
        self.history = json.loads(d["history"])
        self.runs = json.loads(d.get("runs", "[]"))
        self.skipped = int(d.get("skipped", 0))
        self.images = int(d.get("images", self.step * 0))
        self.pixels = int(d.get("pixels", 0))


def warmup_cosine(warmup: int, steps: int, budget_s: float | None = None, clock=None):
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then cosine decay to 1%.

    With ``budget_s``, the decay runs on ``max(step fraction, clock() / budget_s)``, so a
    run cut by a time budget still ends at the low learning rate.
    """

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, steps - warmup)
        if budget_s and clock is not None:
            t = max(t, clock() / budget_s)
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    return f


def _warm_start(model: DeepJSCC, path: str) -> list[str]:
    """Copy every tensor of ``path`` whose name and shape match ``model`` (e.g. another ratio)."""
    from vlm_privsc.jscc.weights import load_model

    src = load_model(path).state_dict()
    own = model.state_dict()
    copied = [k for k, v in src.items() if k in own and own[k].shape == v.shape]
    if not copied:
        raise ConfigError(f"--init {path}: no tensor matches this architecture")
    model.load_state_dict({**own, **{k: src[k] for k in copied}})
    return copied


def _init_record(path: str | None) -> dict[str, Any] | None:
    """Provenance of a warm start: the file and the training record (JSON) beside it, if any."""
    if not path:
        return None
    meta = Path(path).with_suffix(".json")
    rec: dict[str, Any] = {"path": path}
    if meta.is_file():
        m = json.loads(meta.read_text())
        rec["metadata"] = {
            k: m.get(k)
            for k in (
                "name",
                "trained_with",
                "runs",
                "init",
                "steps",
                "images_seen",
                "train_seconds",
                "eval_lossless_cifar10_test",
            )
        }
    return rec


def _load_training_data(opts: TrainOptions) -> tuple[Any, np.ndarray | None, list[str]]:
    """A function ``rng -> uint8 NHWC batch``, the evaluation images, and a description of the data."""
    sources: list[str] = []
    if opts.mix() == "photos":
        return _load_photo_mix(opts)
    if opts.mix() != "cifar":
        raise ConfigError(f"--data-mix must be cifar or photos, got {opts.data_mix!r}")
    sampler, test, sources = _load_patch_data(opts)
    return (lambda rng: sampler.sample(rng, opts.batch)), test, sources


def _load_photo_mix(opts: TrainOptions) -> tuple[Any, np.ndarray | None, list[str]]:
    if opts.images:
        photos = [jdata.load_rgb(p) for p in jdata.list_images(opts.images)]
        if not photos:
            raise InputError(f"no images in {opts.images}")
        sampler = jdata.CropSampler(photos, None, opts.batch_pixels, opts.crop_sizes, 0.0)
        return sampler.sample, None, [f"images:{opts.images} ({len(photos)}), crops {list(opts.crop_sizes)}"]
    d = jdata.resolve_data_dir(opts.data)
    photos = jdata.load_real_photos(d)
    if not photos:
        raise InputError(f"no training photos under {d} ({', '.join(jdata.REAL_PHOTO_FOLDERS)})")
    cifar = [jdata.load_cifar_jpeg_train(d)]
    sources = [
        f"crops {min(opts.crop_sizes)}-{max(opts.crop_sizes)} px of {', '.join(jdata.REAL_PHOTO_FOLDERS)} "
        f"({len(photos)} image-scales, longest side <= 768, scales 1 and 1/2)",
        f"{jdata.CIFAR_TAR} train ({len(cifar[0])})",
    ]
    try:
        cifar.append(jdata.load_cifar_lossless(d, "train"))
        sources.append(f"{jdata.CIFAR_NPZ} x_train ({len(cifar[1])})")
    except InputError:
        pass
    sources.append(f"{opts.cifar_fraction:g} of the batches CIFAR-10; about {opts.batch_pixels} pixels a batch")
    sampler = jdata.CropSampler(photos, np.concatenate(cifar), opts.batch_pixels, opts.crop_sizes, opts.cifar_fraction)
    try:
        test = jdata.load_cifar_lossless(d, "test")[: opts.eval_images]
    except InputError:
        test = None
    return sampler.sample, test, sources


def _load_patch_data(opts: TrainOptions) -> tuple[jdata.PatchSampler, np.ndarray | None, list[str]]:
    sources: list[str] = []
    if opts.images:
        photos = [jdata.load_rgb(p) for p in jdata.list_images(opts.images)]
        if not photos:
            raise InputError(f"no images in {opts.images}")
        sampler = jdata.PatchSampler(np.zeros((0, 32, 32, 3), np.uint8), photos, photo_fraction=1.0)
        sources.append(f"images:{opts.images} ({len(photos)})")
        return sampler, None, sources
    d = jdata.resolve_data_dir(opts.data)
    cifar = [jdata.load_cifar_jpeg_train(d)]
    sources.append(f"{jdata.CIFAR_TAR} train ({len(cifar[0])})")
    try:
        lossless = jdata.load_cifar_lossless(d, "train")
        cifar.append(lossless)
        sources.append(f"{jdata.CIFAR_NPZ} x_train ({len(lossless)})")
    except InputError:
        pass
    photos = jdata.load_photos(d) if opts.photo_fraction > 0 else []
    if photos:
        sources.append(f"photo crops from {', '.join(jdata.PHOTO_FOLDERS)} ({len(photos)} image-scales)")
    sampler = jdata.PatchSampler(np.concatenate(cifar), photos, photo_fraction=opts.photo_fraction)
    try:
        test = jdata.load_cifar_lossless(d, "test")[: opts.eval_images]
    except InputError:
        test = None
    return sampler, test, sources


def train(opts: TrainOptions, argv: list[str] | None = None) -> TrainResult:
    """Run (or resume) one training run; export the weights if ``opts.export`` is set."""
    if opts.steps <= 0 or opts.batch <= 0:
        raise ConfigError("--steps and --batch must be positive")
    if not opts.snr_min <= opts.snr_max:
        raise ConfigError("--snr-min must not exceed --snr-max")
    if opts.hours is not None and opts.hours <= 0:
        raise ConfigError("--hours must be positive")
    if opts.precision not in ("fp32", "bf16"):
        raise ConfigError(f"--precision must be fp32 or bf16, got {opts.precision!r}")
    export_dtype = opts.export_dtype or ("fp16" if opts.arch == "resjscc" else "fp32")
    if export_dtype not in ("fp32", "fp16"):
        raise ConfigError(f"--export-dtype must be fp32 or fp16, got {export_dtype!r}")
    torch.set_num_threads(max(1, opts.threads))
    torch.set_flush_denormal(True)  # the backward pass too (see models._FlushDenormals); off again at the end
    try:
        return _train(opts, argv, export_dtype)
    finally:
        torch.set_flush_denormal(False)


def _train(opts: TrainOptions, argv: list[str] | None, export_dtype: str) -> TrainResult:
    from accelerate import Accelerator
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    name = opts.model_name()
    extra: dict[str, Any] = {}
    if opts.channels is not None:
        extra["channels"] = tuple(opts.channels)
    if opts.res_blocks is not None:
        extra["res_blocks"] = tuple(opts.res_blocks)
    for key in ("norm", "dec_norm", "linear_skip"):
        if getattr(opts, key) is not None:
            extra[key] = getattr(opts, key)
    config = default_config(opts.arch, latent_channels_for_ratio(opts.ratio, stride_of(opts.arch)), **extra)
    torch.manual_seed(opts.seed)
    model = DeepJSCC(config)
    warm = _warm_start(model, opts.init) if opts.init else []
    acc = Accelerator()
    dev = acc.device
    multi = acc.num_processes > 1  # `accelerate launch --num_processes N`: data-parallel (DDP)
    console.quiet = not acc.is_main_process
    sample, test, sources = _load_training_data(opts)
    state = _State(opts.seed, dev)
    budget_s = opts.hours * 3600 if opts.hours else None
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, warmup_cosine(opts.warmup, opts.steps, budget_s, lambda: state.seconds)
    )
    model, optim, sched = acc.prepare(model, optim, sched)
    acc.register_for_checkpointing(state)
    out = Path(opts.out) / name
    ckpt = out / "checkpoint"
    if opts.resume and ckpt.is_dir():
        acc.load_state(str(ckpt))
        console.print(f"resumed {name} from {ckpt} at step {state.step}")
    command = ("vlmsc train jscc " + " ".join(shlex.quote(a) for a in argv)) if argv is not None else "train(...)"
    state.runs.append({"start_step": state.step, "command": command})
    awgn, ray = AWGNChannel(), RayleighChannel("block", "zf")
    raw = acc.unwrap_model(model)
    if opts.init:
        console.print(f"warm start from {opts.init}: {len(warm)} tensors copied")
    console.print(
        f"training {name}: {sum(p.numel() for p in raw.parameters())} parameters, k/n={config.ratio}, "
        f"device={dev}, data: {'; '.join(sources)}"
    )

    def out_of_time() -> bool:
        return budget_s is not None and state.seconds >= budget_s

    def batch_streams() -> tuple[np.random.Generator, torch.Generator]:
        """The random streams of this process's next batch: the checkpointed ones on the main
        process (one process: exactly as before); on the others, streams derived from (seed,
        process, step, skipped), so every process trains on other crops and a resumed run
        draws the same ones again."""
        if acc.process_index == 0:
            return state.rng, state.gen
        r = np.random.default_rng((opts.seed, acc.process_index, state.step, state.skipped))
        return r, torch.Generator(device=dev).manual_seed(int(r.integers(2**62)))

    def agree(*values: float) -> list[float]:
        """Sums over the processes (one process: the values), so all take the same decisions."""
        if not multi:
            return list(values)
        return acc.reduce(torch.tensor(values, dtype=torch.float64, device=dev), reduction="sum").tolist()

    def do_eval(final: bool = False) -> dict[str, float]:
        if test is None:
            return {}
        res = {}
        for snr in (0.0, 10.0, 20.0) if final else (10.0,):
            q = evaluate(raw, test, awgn, snr, seed=1234, with_ssim=False, device=dev)
            res[f"awgn_{snr:g}dB"] = round(q.psnr_db, 3)
        raw.train()
        return res

    last_eval: dict[str, float] = {}
    model.train()
    cols = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
    ]
    with Progress(*cols, console=console, disable=not opts.progress or not acc.is_main_process) as bar:
        task = bar.add_task(f"train {name}", total=opts.steps, completed=state.step, info="")
        run_loss = 0.0
        end = min(opts.steps, opts.stop_at) if opts.stop_at else opts.steps
        t_start = time.perf_counter() - state.seconds
        while state.step < end and not out_of_time():
            rng, gen = batch_streams()
            xb = to_tensor(sample(rng)).to(dev)
            snr = opts.snr_min + (opts.snr_max - opts.snr_min) * torch.rand(len(xb), generator=gen, device=dev)
            use_ray = opts.rayleigh_fraction > 0 and rng.random() < opts.rayleigh_fraction
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=opts.precision == "bf16"):
                y = model(xb, ray if use_ray else awgn, snr, gen)
            loss = torch.nn.functional.mse_loss(y.float(), xb)
            bad, n_img, n_pix = agree(float(not torch.isfinite(loss)), len(xb), xb.shape[0] * xb.shape[2] * xb.shape[3])
            if bad:  # a rare overflow (on any process): drop the batch everywhere, keep the weights
                state.skipped += 1
                continue
            optim.zero_grad(set_to_none=True)
            acc.backward(loss)
            if opts.clip_grad > 0:
                acc.clip_grad_norm_(model.parameters(), opts.clip_grad)
            optim.step()
            sched.step()
            state.step += 1
            state.images += int(n_img)  # over all processes
            state.pixels += int(n_pix)
            run_loss = 0.98 * run_loss + 0.02 * loss.item() if state.step > 1 else loss.item()
            state.seconds = time.perf_counter() - t_start
            if multi:  # the main process's clock decides the time budget for all
                state.seconds = agree(state.seconds if acc.is_main_process else 0.0)[0]
            done = state.step == opts.steps or out_of_time()
            if (state.step % opts.eval_every == 0 or done) and acc.is_main_process:
                last_eval = do_eval(final=done)
                state.history.append(
                    {
                        "step": state.step,
                        "seconds": round(state.seconds, 1),
                        "train_psnr_db": round(-10 * math.log10(max(run_loss, 1e-10)), 3),
                        **last_eval,
                    }
                )
                console.print(
                    f"step {state.step}/{opts.steps} {state.seconds:.0f}s "
                    f"train {-10 * math.log10(max(run_loss, 1e-10)):.2f} dB  eval {last_eval}"
                )
            if state.step % opts.checkpoint_every == 0 or state.step in (opts.steps, end) or done:
                acc.save_state(str(ckpt))
            bar.update(
                task, completed=state.step, info=f"loss {-10 * math.log10(max(run_loss, 1e-10)):.2f} dB {last_eval}"
            )
    seconds = state.seconds
    path = None
    finished = state.step >= opts.steps or out_of_time()
    if out_of_time() and state.step < opts.steps:
        console.print(f"time budget of {opts.hours:g} h spent at step {state.step}/{opts.steps}")
    if opts.export and finished and acc.is_main_process:
        path = weights_path(name, opts.export)
        meta = {
            "name": name,
            "paper": "Bourtsoulatze, Kurka, Gunduz 2019 (DeepJSCC); Xu et al. 2022 (ADJSCC AF modules)"
            + ("; Balle et al. 2016 (GDN)" if opts.arch == "resjscc" else "")
            + ("; Johnston et al. 2019 (simplified GDN)" if config.norm == "sgdn" else ""),
            "trained_with": command,
            "runs": state.runs,
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opts).items()},
            "data": sources,
            "init": _init_record(opts.init),
            "steps": state.step,
            "images_seen": state.images or state.step * opts.batch,
            "pixels_seen": state.pixels,
            "train_seconds": round(seconds, 1),
            "device": str(dev),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "eval_lossless_cifar10_test": {"images": 0 if test is None else len(test), "psnr_db": last_eval},
            "history": state.history,
            "skipped_batches": state.skipped,
            "stopped_by": "steps" if state.step >= opts.steps else f"time budget ({opts.hours:g} h)",
            "weights_dtype": export_dtype,
        }
        save_model(raw, path, meta, dtype=torch.float16 if export_dtype == "fp16" else torch.float32)
        console.print(f"wrote {path} (+ .json)")
    acc.wait_for_everyone()
    return TrainResult(
        model=raw.eval(),
        steps=state.step,
        images_seen=state.images or state.step * opts.batch,
        seconds=seconds,
        eval_psnr_db=last_eval,
        weights=path,
        main_process=acc.is_main_process,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: vlmsc train jscc (or python scripts/train_jscc.py)")
