"""CLI commands of the JSCC stage: ``vlmsc train jscc`` and ``vlmsc bench jscc``.

The lead's ``vlm_privsc/cli.py`` calls :func:`register` with its ``train`` and ``bench``
sub-apps; ``scripts/train_jscc.py`` and ``scripts/bench_jscc.py`` wrap the same commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def _argv_after(cmd: str) -> list[str]:
    """The arguments that followed ``cmd`` on the command line (for the metadata)."""
    args = sys.argv[1:]
    for i, a in enumerate(args):
        if a == cmd:
            return args[i + 1 :]
    return args


def train_jscc(
    ratio: Annotated[
        str, typer.Option(help="bandwidth ratio k/n (adjscc: 1/6 -> 16 latent channels; resjscc: 256)")
    ] = "1/6",
    arch: Annotated[
        str, typer.Option(help="adjscc (SNR-adaptive), resjscc (residual GDN, for photos) or deepjscc (classic)")
    ] = "adjscc",
    data: Annotated[Optional[Path], typer.Option(help="shared data folder (default ../shared/data)")] = None,
    images: Annotated[Optional[Path], typer.Option(help="train on random crops of this image folder instead")] = None,
    steps: Annotated[int, typer.Option(help="optimiser steps")] = 10_000,
    batch: Annotated[int, typer.Option(help="images per step")] = 64,
    lr: Annotated[float, typer.Option(help="peak Adam learning rate (cosine decay)")] = 1e-3,
    warmup: Annotated[int, typer.Option(help="linear warm-up steps")] = 200,
    snr_min: Annotated[float, typer.Option(help="lowest training SNR (dB)")] = 0.0,
    snr_max: Annotated[float, typer.Option(help="highest training SNR (dB)")] = 20.0,
    rayleigh_fraction: Annotated[float, typer.Option(help="share of steps through block Rayleigh (ZF)")] = 0.0,
    photo_fraction: Annotated[float, typer.Option(help="share of each batch cropped from photos")] = 0.25,
    name: Annotated[Optional[str], typer.Option(help="model name (default ARCH-rN_D, e.g. resjscc-r1_6)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    out: Annotated[Path, typer.Option(help="checkpoint folder")] = Path("runs/jscc"),
    resume: Annotated[bool, typer.Option(help="resume from the checkpoint in --out")] = False,
    checkpoint_every: Annotated[int, typer.Option(help="steps between checkpoints")] = 1000,
    eval_every: Annotated[int, typer.Option(help="steps between evaluations")] = 1000,
    eval_images: Annotated[int, typer.Option(help="lossless CIFAR-10 test images to evaluate on")] = 500,
    export: Annotated[Optional[Path], typer.Option(help="folder to write jscc_<name>.safetensors (+ .json)")] = None,
    init: Annotated[Optional[Path], typer.Option(help="warm start from a weights file (same-shaped tensors)")] = None,
    stop_at: Annotated[
        Optional[int], typer.Option(help="stop (with a checkpoint) at this step; --resume later")
    ] = None,
    threads: Annotated[int, typer.Option(help="CPU threads")] = 2,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    hours: Annotated[
        Optional[float],
        typer.Option(help="training-time budget over all restarts: stop, checkpointed and exported, when spent"),
    ] = None,
    data_mix: Annotated[
        Optional[str],
        typer.Option(
            help="cifar (32x32 patches) or photos (64-256 px crops of BSDS500 + faces, and CIFAR); default by arch"
        ),
    ] = None,
    batch_pixels: Annotated[int, typer.Option(help="photos mix: pixels per batch")] = 131_072,
    cifar_fraction: Annotated[float, typer.Option(help="photos mix: share of CIFAR-10 batches")] = 0.15,
    precision: Annotated[str, typer.Option(help="fp32 or bf16 (autocast)")] = "fp32",
    clip_grad: Annotated[float, typer.Option(help="clip the gradient norm (0: off)")] = 0.0,
    export_dtype: Annotated[
        Optional[str], typer.Option(help="fp32 or fp16 weights file (default fp16 for resjscc)")
    ] = None,
    norm: Annotated[
        Optional[str],
        typer.Option(help="resjscc encoder normalisation: gdn, sgdn (simplified GDN) or prelu (default: the arch's)"),
    ] = None,
    dec_norm: Annotated[
        Optional[str], typer.Option(help="resjscc decoder activation: prelu or isgdn (default: the arch's)")
    ] = None,
    linear_skip: Annotated[
        Optional[bool],
        typer.Option(
            "--linear-skip/--no-linear-skip",
            help="resjscc: linear patch path beside the deep one (default: the arch's)",
        ),
    ] = None,
) -> None:
    """Train a DeepJSCC / ADJSCC model (CIFAR-10 + photo crops) and export safetensors weights."""
    from vlm_privsc.jscc.train import TrainOptions, train

    opts = TrainOptions(
        ratio=ratio,
        arch=arch,
        data=str(data) if data else None,
        images=str(images) if images else None,
        steps=steps,
        batch=batch,
        lr=lr,
        warmup=warmup,
        snr_min=snr_min,
        snr_max=snr_max,
        rayleigh_fraction=rayleigh_fraction,
        photo_fraction=photo_fraction,
        name=name,
        seed=seed,
        out=str(out),
        resume=resume,
        checkpoint_every=checkpoint_every,
        eval_every=eval_every,
        eval_images=eval_images,
        export=str(export) if export else None,
        init=str(init) if init else None,
        stop_at=stop_at,
        threads=threads,
        progress=progress,
        hours=hours,
        data_mix=data_mix,
        batch_pixels=batch_pixels,
        cifar_fraction=cifar_fraction,
        precision=precision,
        clip_grad=clip_grad,
        export_dtype=export_dtype,
        norm=norm,
        dec_norm=dec_norm,
        linear_skip=linear_skip,
    )
    res = train(opts, argv=_argv_after("jscc"))
    if res.main_process:  # one line from `accelerate launch --num_processes N` too
        typer.echo(
            f"done: {res.steps} steps, {res.images_seen} images, {res.seconds:.0f} s, eval {res.eval_psnr_db}"
            + (f", weights {res.weights}" if res.weights else "")
        )


def _split_loose(values: list[str]) -> tuple[list[float], list[str], list[str]]:
    """Sort loose values (``--snr 0 5 10``, ``--ratio 1/6 1/12``, ``--channel awgn rayleigh``)."""
    from vlm_privsc.errors import InputError

    snrs: list[float] = []
    ratios: list[str] = []
    channels: list[str] = []
    for v in values:
        if v in ("awgn", "rayleigh"):
            channels.append(v)
        elif "/" in v:
            ratios.append(v)
        else:
            try:
                snrs.append(float(v))
            except ValueError:
                raise InputError(f"unexpected argument {v!r} (see vlmsc bench jscc --help)") from None
    return snrs, ratios, channels


def bench_jscc(
    ctx: typer.Context,
    images: Annotated[Optional[Path], typer.Option(help="a folder of images to evaluate on")] = None,
    data: Annotated[
        Optional[Path], typer.Option(help="shared data folder: lossless CIFAR-10 test subset + Kodak")
    ] = None,
    snr: Annotated[Optional[list[float]], typer.Option(help="SNRs in dB: --snr 0 5 10 15 20")] = None,
    channel: Annotated[Optional[list[str]], typer.Option(help="awgn and/or rayleigh: --channel awgn rayleigh")] = None,
    mode: Annotated[str, typer.Option(help="Rayleigh fading: block or fast")] = "block",
    equalizer: Annotated[str, typer.Option(help="Rayleigh equaliser: zf, mmse or none")] = "zf",
    ratio: Annotated[
        Optional[list[str]],
        typer.Option(help="bandwidth ratio(s), picks the default shipped model of each: --ratio 1/6 1/12"),
    ] = None,
    model: Annotated[Optional[str], typer.Option(help="shipped model name or a .safetensors path")] = None,
    limit: Annotated[Optional[int], typer.Option(help="at most N images per dataset")] = None,
    separation: Annotated[bool, typer.Option(help="add the JPEG/WebP separation reference")] = True,
    throughput: Annotated[bool, typer.Option(help="measure encode+decode images/s at 32 and 512")] = True,
    seed: Annotated[int, typer.Option(help="channel noise seed")] = 0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write results to this JSON file")] = None,
    markdown: Annotated[Optional[Path], typer.Option(help="write the table to this Markdown file")] = None,
    plots: Annotated[Optional[Path], typer.Option(help="write PSNR/SSIM-vs-SNR plots to this folder")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads")] = 2,
    sep_codecs: Annotated[
        str, typer.Option(help="codecs of the strongest separation reference, comma-separated")
    ] = "jpeg,webp,jpeg2000,avif,heic",
    sep_cache: Annotated[
        bool, typer.Option(help="cache coded sizes and PSNRs across runs (system temp folder)")
    ] = True,
) -> None:
    """PSNR / SSIM of DeepJSCC per SNR beside separation at capacity (JPEG/WebP, and the best of all codecs)."""
    from vlm_privsc.errors import InputError
    from vlm_privsc.jscc.bench import BenchOptions, print_table, run_bench

    extra_snr, extra_ratio, extra_ch = _split_loose(list(ctx.args))
    snrs = [*(snr or []), *extra_snr] or [0.0, 5.0, 10.0, 15.0, 20.0]
    ratios = [*(ratio or []), *extra_ratio]
    channels = [*(channel or []), *extra_ch] or ["awgn"]
    if model and ratios:
        raise InputError("give either --model or --ratio, not both")
    opts = BenchOptions(
        images=str(images) if images else None,
        data=str(data) if data else None,
        snrs=tuple(snrs),
        channels=tuple(dict.fromkeys(channels)),
        mode=mode,
        equalizer=equalizer,
        ratios=tuple(dict.fromkeys(ratios)),
        model=model,
        limit=limit,
        separation=separation,
        throughput=throughput,
        seed=seed,
        json_path=str(json_out) if json_out else None,
        markdown_path=str(markdown) if markdown else None,
        plots_dir=str(plots) if plots else None,
        threads=threads,
        sep_codecs=tuple(c.strip() for c in sep_codecs.split(",") if c.strip()),
        sep_cache=str(_sep_cache_dir()) if sep_cache else None,
    )
    report = run_bench(opts, argv=_argv_after("jscc"))
    print_table(report)


def _sep_cache_dir() -> Path:
    from vlm_privsc.jscc.data import _cache_dir

    return _cache_dir() / "separation"


_LOOSE = {"allow_extra_args": True, "ignore_unknown_options": False}


def register(train_app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``jscc`` to the ``train`` and ``bench`` sub-apps of ``vlmsc``."""
    train_app.command("jscc")(train_jscc)
    bench_app.command("jscc", context_settings=_LOOSE)(bench_jscc)


def run_command(kind: str, argv: list[str] | None) -> int:
    """Run ``train jscc`` / ``bench jscc`` with ``argv`` (for scripts/ and tests).

    Returns the exit code: 0 on success, 2 on user errors (bad options, VlmscError).
    """
    from vlm_privsc.errors import VlmscError

    app = typer.Typer(add_completion=False)
    dummy = typer.Typer()
    train_app, bench_app = (app, dummy) if kind == "train" else (dummy, app)
    register(train_app, bench_app)
    cmd = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    saved = sys.argv
    sys.argv = [saved[0] if saved else "vlmsc", "jscc", *args]  # so the metadata records the arguments
    try:
        cmd.main(args=args, prog_name=f"vlmsc {kind} jscc", standalone_mode=True)
    except VlmscError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    return 0
