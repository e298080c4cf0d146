"""CLI command of the inpaint stage: ``vlmsc train face-encoder`` (the face latent encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def train_face_encoder_cmd(
    steps: Annotated[int, typer.Option(help="optimiser steps (cosine decay over them)")] = 3000,
    batch: Annotated[int, typer.Option(help="generator samples per step")] = 48,
    lr: Annotated[float, typer.Option(help="peak Adam learning rate")] = 1e-3,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    out: Annotated[Path, typer.Option(help="checkpoint folder")] = Path("runs/face_encoder"),
    export: Annotated[
        Optional[Path], typer.Option(help="write the weights here (.safetensors, + .json with the history)")
    ] = None,
    hours: Annotated[Optional[float], typer.Option(help="training-time budget over all restarts")] = None,
    resume: Annotated[bool, typer.Option(help="resume from the checkpoint in --out")] = False,
    eval_every: Annotated[int, typer.Option(help="steps between evaluations and checkpoints")] = 250,
    threads: Annotated[int, typer.Option(help="CPU threads")] = 1,
) -> None:
    """Train the face_gan latent encoder on the DCGAN's own samples (no real photo)."""
    import sys

    import torch

    from vlm_privsc.inpaint.face_encoder_train import train_face_encoder

    torch.set_num_threads(max(1, threads))
    command = "vlmsc " + " ".join(sys.argv[1:])
    train_face_encoder(
        steps=steps,
        batch=batch,
        lr=lr,
        seed=seed,
        out=out,
        export=export,
        hours=hours,
        resume=resume,
        eval_every=eval_every,
        command=command,
    )


def register(train_app: typer.Typer) -> None:
    """Add ``face-encoder`` to the ``train`` sub-app of ``vlmsc``."""
    train_app.command("face-encoder")(train_face_encoder_cmd)
