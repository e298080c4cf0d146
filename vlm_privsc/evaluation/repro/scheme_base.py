"""Train the DeepJSCC baseline of the scheme reproductions to convergence (the shared warm start).

A :class:`vlm_privsc.schemes.TaskJSCC` with a ResNet trunk (default ResNet-20: 3 blocks
per stage, width 16, BatchNorm; He et al., CVPR 2016), the channel bottleneck after the
global pool (``--latent`` reals = latent/2 complex channel uses, unit power), AWGN or
Rayleigh block fading + AWGN with zero-forcing, Bob's MLP classifier on the received
symbols. Recipe (:mod:`vlm_privsc.schemes.fit`): SGD-Nesterov, one-cycle schedule,
label smoothing, random crop + flip, checkpoint every epoch (``--resume``), a time
budget (``--hours``), the GPU when available (``--device auto``).

``--init CKPT`` starts from another baseline (e.g. the AWGN model fine-tuned for
Rayleigh). Writes into ``--out``: ``last.pt`` (resumable state), ``final.pt`` (weights +
config + scores, what :func:`vlm_privsc.schemes.fit.load_link` reads), ``result.json``
and ``log.txt``. Evaluation: the 1,017 lossless CIFAR-10 test images (and the 10k JPEG
test images), or the 10k MNIST test images, at ``--eval-snrs``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from vlm_privsc.channel import AWGNChannel, RayleighChannel
from vlm_privsc.schemes.data import load_dataset
from vlm_privsc.schemes.fit import FitConfig, accuracy, fit_link, load_link, save_link, select_device
from vlm_privsc.schemes.models import TaskJSCC
from vlm_privsc.schemes.repro import Logger, base_parser, command_line, floats, machine


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = base_parser(__doc__.splitlines()[0], "runs/base/cifar10_awgn12")
    p.set_defaults(threads=1)
    p.add_argument("--dataset", choices=("cifar10", "mnist"), default="cifar10")
    p.add_argument("--channel", choices=("awgn", "rayleigh"), default="awgn")
    p.add_argument("--snr", type=float, default=12.0, help="training SNR (dB)")
    p.add_argument("--snr-range", default=None, help="train at SNRs uniform in 'lo,hi' dB instead of --snr")
    p.add_argument("--eval-snrs", default="0,5,10,12,15,20")
    p.add_argument("--arch", choices=("resnet", "cnn"), default="resnet")
    p.add_argument("--blocks", type=int, default=3, help="residual blocks per stage (3 = ResNet-20)")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--latent", type=int, default=128, help="real latent features (latent/2 channel uses)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    p.add_argument("--schedule", choices=("onecycle", "cosine", "constant"), default="onecycle")
    p.add_argument("--warmup", type=float, default=0.15, help="warm-up fraction of all steps")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--n-train", type=int, default=None, help="training images (default all)")
    p.add_argument("--init", type=Path, default=None, help="warm start: a final.pt of this script")
    p.add_argument("--resume", action="store_true", help="continue from --out/last.pt")
    p.add_argument("--hours", type=float, default=None, help="time budget; stops at an epoch boundary")
    p.add_argument("--device", default="auto", help="auto (GPU when available), cpu, cuda")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.quick:
        args.epochs, args.batch, args.blocks, args.width, args.latent = 2, 32, 1, 4, 16
        args.eval_snrs = str(args.snr)
    out: Path = args.out
    log = Logger(out)
    cmd = command_line("scripts/train_scheme_base.py", argv)
    log(f"command: {cmd}")
    device = select_device(args.device)
    data = load_dataset(args.dataset, args.data, quick=args.quick, seed=args.seed)
    if args.quick and not data.synthetic:
        data = data.subset(256, 64, seed=args.seed)
    xtr, ytr = data.x_train, data.y_train
    if args.n_train is not None:
        sub = data.subset(args.n_train, None, seed=args.seed)
        xtr, ytr = sub.x_train, sub.y_train
    log(f"data: {data.name} ({data.note}); train {len(xtr)}, test {len(data.x_test)}; device {device}; {machine()}")
    channel = AWGNChannel() if args.channel == "awgn" else RayleighChannel("block", "zf")
    if args.init is not None:
        model = load_link(args.init)
        log(f"warm start from {args.init}")
    else:
        model = TaskJSCC(
            data.channels,
            data.image_size,
            args.latent,
            data.num_classes,
            width=args.width,
            arch=args.arch,
            blocks=args.blocks,
        )
    log(f"model: {model.config()}, {sum(p.numel() for p in model.parameters())} parameters")
    snr_range = tuple(floats(args.snr_range)) if args.snr_range else None
    cfg = FitConfig(
        epochs=args.epochs,
        batch_size=args.batch,
        lr=args.lr,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        warmup=args.warmup,
        label_smoothing=args.label_smoothing,
        crop=4 if data.image_size >= 32 else 2,
        flip=args.dataset == "cifar10",
        snr_db=args.snr,
        snr_range=snr_range,  # type: ignore[arg-type]
    )

    def evaluate(m: TaskJSCC) -> dict[str, float]:
        return {"test_accuracy": accuracy(m, data.x_test, data.y_test, channel=channel, snr_db=args.snr, seed=1)}

    hist = fit_link(
        model,
        xtr,
        ytr,
        channel=channel,
        cfg=cfg,
        seed=args.seed,
        checkpoint=out / "last.pt",
        resume=args.resume,
        time_budget_s=args.hours * 3600 if args.hours else None,
        device=device,
        evaluate=evaluate,
        log=log,
    )
    done = len(hist) >= cfg.epochs
    scores: dict[str, float] = {}
    for snr in floats(args.eval_snrs):
        scores[f"acc_lossless_{snr:g}dB"] = accuracy(
            model, data.x_test, data.y_test, channel=channel, snr_db=snr, seed=int(snr * 10) + 7
        )
    if args.dataset == "cifar10" and not data.synthetic:
        from vlm_privsc.jscc.data import load_cifar_jpeg_labels, load_cifar_jpeg_train

        xj, yj = load_cifar_jpeg_train(args.data, "test"), load_cifar_jpeg_labels(args.data, "test")
        scores[f"acc_jpeg10k_{args.snr:g}dB"] = accuracy(model, xj, yj, channel=channel, snr_db=args.snr, seed=3)
    result = {
        "command": cmd,
        "complete": done,
        "epochs_done": len(hist),
        "dataset": data.name,
        "synthetic": data.synthetic,
        "channel": args.channel,
        "train_snr_db": args.snr,
        "n_train": len(xtr),
        "n_test": len(data.x_test),
        "model": model.config(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "fit": asdict(cfg),
        "init": str(args.init) if args.init else None,
        "scores": scores,
        "train_seconds": round(sum(h["seconds"] for h in hist), 1),
        "history": hist,
        "machine": machine(),
    }
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    if done:
        save_link(out / "final.pt", model, {"scores": scores, "command": cmd})
    log(f"{'done' if done else 'stopped (resume to finish)'}: {json.dumps(scores)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
