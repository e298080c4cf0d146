"""Reproduction (b): multi-task legitimate receiver vs a trained eavesdropper over Rayleigh + AWGN.

Setting: MNIST and CIFAR-10; a task-oriented JSCC whose legitimate receiver (Bob) does
classification *and* image reconstruction; Bob's and Eve's channels are Rayleigh block
fading + AWGN with zero-forcing equalisation on perfect CSI, Bob at ``--bob-snr``, Eve at
``--eve-snr`` (a degraded wiretap channel). For every latent dimension:

- ``baseline``: encoder + Bob trained for his tasks only (CE + MSE);
- ``minmax``: iterative min-max training against a co-trained eavesdropper classifier
  (``vlm_privsc.schemes.MinMaxTraining``; Eve's CE capped at chance);
- ``baseline+perturbation`` / ``minmax+perturbation``: the cooperative perturbation layer
  (PGD, ``--psr`` dB below the signal) crafted against a *surrogate* eavesdropper that
  the transmitter trained itself (its own data, its own seed), with Bob's classifier
  kept (legit term); the legitimate link is not retrained.

Evaluation always uses a *fresh* eavesdropper (classifier + model-inversion decoder)
trained after the fact on Eve's channel output of the final encoder, from an auxiliary
split disjoint from Bob's. For the perturbation rows Eve is the one trained on
unperturbed symbols (non-adaptive); ``eve_accuracy_adaptive`` is a classifier retrained
on perturbed symbols (an adaptive Eve).

Writes ``results.csv``, one plot per dataset and ``README.md`` into ``--out``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from vlm_privsc.attacks import (
    EavesdropperClassifier,
    InversionAttacker,
    evaluate_attack,
    train_classifier,
    train_inversion,
)
from vlm_privsc.channel import RayleighChannel
from vlm_privsc.schemes import (
    CooperativePerturbation,
    MinMaxTraining,
    NoScheme,
    TaskJSCC,
    evaluate_link,
    train_link,
    train_minmax,
)
from vlm_privsc.schemes.claims import minmax_claims, perturbation_claims
from vlm_privsc.schemes.data import load_dataset
from vlm_privsc.schemes.fit import load_link
from vlm_privsc.schemes.repro import (
    Logger,
    base_parser,
    command_line,
    ints,
    machine,
    md_table,
    threads_note,
    write_csv,
)

COLUMNS = (
    "dataset",
    "latent_dim",
    "method",
    "bob_accuracy",
    "bob_psnr_db",
    "eve_accuracy",
    "eve_psnr_db",
    "eve_accuracy_adaptive",
)
METHODS = ("baseline", "minmax")
"""The trained links, in the order their rows are written."""


def parse(argv: list[str] | None):
    p = base_parser(__doc__.splitlines()[0], "eval/results/multitask")
    p.add_argument("--datasets", default="mnist,cifar10")
    p.add_argument("--latents", default="8,32,128", help="real latent features (latent/2 channel uses)")
    p.add_argument("--n-train", type=int, default=8000, help="Bob's training images per dataset")
    p.add_argument("--n-eve", type=int, default=4000, help="Eve's auxiliary images (disjoint)")
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--epochs", type=float, default=4, help="epochs of the baseline and of min-max training")
    p.add_argument("--rec-weight", type=float, default=10.0, help="weight of Bob's reconstruction MSE (CE has 1)")
    p.add_argument("--eve-epochs", type=float, default=3, help="epochs of each post-hoc eavesdropper")
    p.add_argument("--bob-snr", type=float, default=10.0)
    p.add_argument("--eve-snr", type=float, default=0.0)
    p.add_argument("--privacy-weight", type=float, default=1.0)
    p.add_argument("--eve-warmup", type=float, default=0.0, help="min-max: epochs of Eve alone before the alternation")
    p.add_argument(
        "--ramp", type=float, default=0.0, help="min-max: share of its steps over which the privacy weight rises from 0"
    )
    p.add_argument("--eve-steps", type=int, default=1, help="min-max: Eve updates per encoder update")
    p.add_argument(
        "--bob-heads-epochs",
        type=float,
        default=0.0,
        help="epochs of Bob's heads alone on every final (frozen) encoder, baseline and min-max alike, "
        "as the post-hoc eavesdropper gets",
    )
    p.add_argument("--psr", type=float, default=-10.0, help="perturbation power relative to the signal (dB)")
    p.add_argument("--pgd-steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=16, help="conv width of encoder, Bob's decoder and Eve's decoder")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--arch", choices=("cnn", "resnet"), default="cnn", help="TaskJSCC encoder (resnet: ResNet trunk)")
    p.add_argument("--blocks", type=int, default=3, help="residual blocks per stage with --arch resnet")
    p.add_argument(
        "--base",
        action="append",
        default=[],
        metavar="DATASET=CKPT",
        help="warm start of every model of DATASET (baseline and min-max) from a final.pt of "
        "scripts/train_scheme_base.py; layers whose shape differs (latent size, decoder) start fresh",
    )
    p.add_argument("--no-adaptive", action="store_true", help="skip the adaptive eavesdropper")
    p.add_argument(
        "--methods",
        default="baseline,minmax",
        help="links to train, each evaluated with and without the perturbation: baseline, minmax or both "
        "(the baseline does not depend on --privacy-weight, so a sweep trains it once per seed)",
    )
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = sorted(set(methods) - set(METHODS))
    if bad or not methods:
        p.error(f"--methods: unknown {', '.join(bad) or '(empty)'}; choose from {', '.join(METHODS)}")
    args.methods = [m for m in METHODS if m in methods]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.quick:
        args.n_train, args.n_eve, args.n_test, args.batch = 96, 64, 32, 32
        args.epochs, args.eve_epochs, args.pgd_steps = 1, 1, 2
        args.latents = "8,16" if args.latents == "8,32,128" else args.latents
    out: Path = args.out
    log = Logger(out)
    cmd = command_line("scripts/repro_multitask.py", argv)
    log(f"command: {cmd}")
    bob_ch = RayleighChannel("block", "zf")
    eve_ch = RayleighChannel("block", "zf")
    bases = dict(b.split("=", 1) for b in args.base)
    rows: list[dict] = []
    notes: dict[str, str] = {}
    timing: dict[str, float] = {}
    for ds in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        data = load_dataset(ds, args.data, quick=args.quick, seed=args.seed)
        notes[ds] = data.note
        rng = np.random.default_rng(args.seed)
        perm = rng.permutation(len(data.x_train))
        n_tr = min(args.n_train, len(perm) * 2 // 3)
        n_ev = min(args.n_eve, len(perm) - n_tr)
        xb, yb = data.x_train[perm[:n_tr]], data.y_train[perm[:n_tr]]
        xe, ye = data.x_train[perm[n_tr : n_tr + n_ev]], data.y_train[perm[n_tr : n_tr + n_ev]]
        xt, yt = data.x_test[: args.n_test], data.y_test[: args.n_test]
        c, s, ncls = data.channels, data.image_size, data.num_classes
        log(f"{ds}: Bob {len(xb)}, Eve aux {len(xe)}, test {len(xt)} ({data.note})")
        for latent in ints(args.latents):
            t_lat = log.elapsed
            gen = torch.Generator().manual_seed(args.seed * 1000 + latent)
            trained: dict[str, TaskJSCC] = {}

            def train_bob(model: TaskJSCC, epochs: float, heads_only: bool = False, gen=gen, xb=xb, yb=yb) -> None:
                """Bob's link on his images and channel (CE + rec_weight MSE); ``heads_only``: encoder frozen."""
                train_link(
                    model,
                    xb,
                    yb,
                    channel=bob_ch,
                    snr_db=args.bob_snr,
                    epochs=epochs,
                    rec_weight=args.rec_weight,
                    batch_size=args.batch,
                    lr=args.lr,
                    heads_only=heads_only,
                    generator=gen,
                    log=log,
                )

            if "baseline" in args.methods:
                log(f"{ds} latent {latent}: baseline ({args.epochs} epochs)")
                m = _new_model(args, bases.get(ds), c, s, latent, ncls)
                train_bob(m, args.epochs)
                trained["baseline"] = m
            if "minmax" in args.methods:
                log(f"{ds} latent {latent}: min-max ({args.epochs} epochs)")
                m2 = _new_model(args, bases.get(ds), c, s, latent, ncls)
                co_eve = EavesdropperClassifier(m2.k, ncls)
                mm = MinMaxTraining(
                    privacy_weight=args.privacy_weight,
                    rec_weight=args.rec_weight,
                    num_classes=ncls,
                    eve_steps=args.eve_steps,
                    eve_warmup=args.eve_warmup,
                    ramp=args.ramp,
                )
                train_minmax(
                    m2,
                    co_eve,
                    xb,
                    yb,
                    minmax=mm,
                    bob_channel=bob_ch,
                    bob_snr_db=args.bob_snr,
                    eve_channel=eve_ch,
                    eve_snr_db=args.eve_snr,
                    epochs=args.epochs,
                    batch_size=args.batch,
                    lr=args.lr,
                    generator=gen,
                    log=log,
                )
                trained["minmax"] = m2
            for name, model in trained.items():
                if args.bob_heads_epochs > 0:
                    log(
                        f"{ds} latent {latent}: {name}: Bob's heads on the frozen encoder ({args.bob_heads_epochs:g} epochs)"
                    )
                    train_bob(model, args.bob_heads_epochs, heads_only=True)

                def eve_view(x, g, model=model):
                    return eve_ch(model.encode(x, g), args.eve_snr, g)

                eve_clf = EavesdropperClassifier(model.k, ncls)
                eve_inv = InversionAttacker(model.k, c, s, width=args.width)
                train_classifier(
                    eve_clf, eve_view, xe, ye, epochs=args.eve_epochs, batch_size=args.batch, lr=args.lr, generator=gen
                )
                train_inversion(
                    eve_inv, eve_view, xe, epochs=args.eve_epochs, batch_size=args.batch, lr=args.lr, generator=gen
                )
                # the transmitter's own surrogate eavesdropper (its data, another seed)
                sur = EavesdropperClassifier(model.k, ncls)
                sgen = torch.Generator().manual_seed(args.seed * 1000 + latent + 17)
                train_classifier(
                    sur,
                    eve_view,
                    xb[: len(xe)],
                    yb[: len(xe)],
                    epochs=args.eve_epochs,
                    batch_size=args.batch,
                    lr=args.lr,
                    generator=sgen,
                )
                pert = CooperativePerturbation(
                    surrogate=sur,
                    legit=model.classifier,
                    psr_db=args.psr,
                    steps=args.pgd_steps,
                    eve_channel=eve_ch,
                    eve_snr_db=args.eve_snr,
                )
                for label, scheme in ((name, NoScheme()), (f"{name}+perturbation", pert)):
                    g = torch.Generator().manual_seed(args.seed * 31 + latent)
                    bob = evaluate_link(model, xt, yt, channel=bob_ch, snr_db=args.bob_snr, scheme=scheme, generator=g)

                    def tview(x, gg, model=model, scheme=scheme):
                        return scheme.intercept(model.encode(x, gg), eve_ch, args.eve_snr, gg)

                    eve = evaluate_attack(tview, xt, yt, inverter=eve_inv, classifier=eve_clf, generator=g)
                    adaptive = float("nan")
                    if isinstance(scheme, CooperativePerturbation) and not args.no_adaptive:
                        a_clf = EavesdropperClassifier(model.k, ncls)
                        train_classifier(
                            a_clf,
                            tview,
                            xe,
                            ye,
                            epochs=args.eve_epochs,
                            batch_size=args.batch,
                            lr=args.lr,
                            generator=gen,
                        )
                        adaptive = evaluate_attack(tview, xt, yt, classifier=a_clf, generator=g).accuracy
                    elif not isinstance(scheme, CooperativePerturbation):
                        adaptive = eve.accuracy
                    row = {
                        "dataset": ds,
                        "latent_dim": latent,
                        "method": label,
                        "bob_accuracy": bob.accuracy,
                        "bob_psnr_db": bob.psnr_db,
                        "eve_accuracy": eve.accuracy,
                        "eve_psnr_db": eve.psnr_db,
                        "eve_accuracy_adaptive": adaptive,
                    }
                    rows.append(row)
                    log(
                        f"  {label}: Bob acc {bob.accuracy:.3f} PSNR {bob.psnr_db:.2f} | Eve acc {eve.accuracy:.3f} "
                        f"PSNR {eve.psnr_db:.2f} adaptive acc {adaptive:.3f}"
                    )
            timing[f"{ds}_latent{latent}"] = log.elapsed - t_lat
            write_csv(out / "results.csv", rows, COLUMNS)  # partial results survive an interruption
    write_csv(out / "results.csv", rows, COLUMNS)
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        _plot([r for r in rows if r["dataset"] == ds], out / f"{ds}_vs_latent.png", ds, args.quick)
    (out / "timings.json").write_text(json.dumps({k: round(v, 1) for k, v in timing.items()}, indent=1))
    _readme(out, cmd, args, rows, notes, timing, log.elapsed)
    log(f"done in {log.elapsed:.0f}s -> {out}")
    return 0


def _schedule(args) -> str:
    """The min-max schedule (and Bob's head fine-tuning) in words, for the README."""
    parts = [f"{args.eve_steps} Eve update{'s' if args.eve_steps != 1 else ''} per batch"]
    if args.eve_warmup:
        parts.append(f"Eve warmed up alone for {args.eve_warmup:g} epochs first")
    if args.ramp:
        parts.append(f"privacy weight ramped from 0 over the first {100 * args.ramp:.0f}% of the steps")
    if args.bob_heads_epochs:
        parts.append(f"then Bob's heads alone for {args.bob_heads_epochs:g} epochs on every final encoder")
    return "; ".join(parts)


def _plot(rows: list[dict], path: Path, ds: str, quick: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for i, method in enumerate(dict.fromkeys(r["method"] for r in rows)):
        rr = [r for r in rows if r["method"] == method]
        x = [r["latent_dim"] for r in rr]
        col = f"C{i}"
        ax[0].plot(x, [r["bob_accuracy"] for r in rr], "-o", color=col, ms=3, label=f"Bob {method}")
        ax[0].plot(x, [r["eve_accuracy"] for r in rr], "--x", color=col, ms=4, label=f"Eve {method}")
        ax[1].plot(x, [r["bob_psnr_db"] for r in rr], "-o", color=col, ms=3, label=f"Bob {method}")
        ax[1].plot(x, [r["eve_psnr_db"] for r in rr], "--x", color=col, ms=4, label=f"Eve {method}")
    ax[0].set(xlabel="latent dimension (reals)", ylabel="accuracy", xscale="log", title=f"{ds}: classification")
    ax[1].set(xlabel="latent dimension (reals)", ylabel="PSNR (dB)", xscale="log", title=f"{ds}: reconstruction")
    for a in ax:
        a.grid(alpha=0.3)
    ax[0].legend(fontsize=6)
    if quick:
        fig.suptitle("QUICK RUN (synthetic/tiny) - not a result")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _new_model(args, base: str | None, c: int, s: int, latent: int, ncls: int) -> TaskJSCC:
    """A fresh multi-task TaskJSCC, or the warm start ``base`` with a decoder (fresh layers where shapes differ)."""
    if base is not None:
        return load_link(Path(base), reconstruct=True, latent_dim=latent).train()
    return TaskJSCC(c, s, latent, ncls, reconstruct=True, width=args.width, arch=args.arch, blocks=args.blocks)


def _readme(out: Path, cmd: str, args, rows, notes, timing, total) -> None:
    quick = "\n**QUICK RUN: tiny/synthetic data, the numbers below mean nothing.**\n" if args.quick else ""
    cols = [
        "dataset",
        "latent_dim",
        "method",
        "bob_accuracy",
        "bob_psnr_db",
        "eve_accuracy",
        "eve_psnr_db",
        "eve_accuracy_adaptive",
    ]
    fmt = {"bob_psnr_db": ".2f", "eve_psnr_db": ".2f", "latent_dim": "d"}
    arch = f"{args.arch} encoder" + (f", {args.blocks} blocks per stage" if args.arch == "resnet" else "")
    if args.base:
        arch = "the warm starts' encoders"
    claims = "\n".join(f"- {line}" for line in minmax_claims(rows) + perturbation_claims(rows)) or "- (no rows)"
    text = f"""# (b) Multi-task receiver vs trained eavesdropper, Rayleigh + AWGN (MNIST, CIFAR-10)
{quick}
Command (run from the repository root, {total / 60:.1f} min wall clock here):

    {cmd}

Machine: {machine()}.

## What was measured
- Data: {"; ".join(f"{k}: {v}" for k, v in notes.items())}. Bob trained on {args.n_train} images, every
  eavesdropper on {args.n_eve} other training images, evaluation on the first {args.n_test} test images.
- Channels: Rayleigh block fading (one h ~ CN(0,1) per image) + AWGN, zero-forcing on perfect CSI;
  Bob at {args.bob_snr:g} dB, Eve at {args.eve_snr:g} dB.
- Bob: classification accuracy and reconstruction PSNR of his multi-task receiver. Eve: accuracy of a
  classifier and PSNR of a model-inversion decoder (MSE + 0.1 (1 - SSIM)), both trained *after* training
  on the final encoder ({args.eve_epochs:g} epochs); `eve_accuracy_adaptive`: for the perturbation rows, a
  classifier retrained on perturbed symbols (otherwise equal to `eve_accuracy`).
- Models: TaskJSCC ({arch}) of conv width {args.width} (Bob's decoder and Eve's inversion decoder the same shape),
  batch {args.batch}{"; warm starts: " + ", ".join(args.base) if args.base else ""}.
- Links trained: {", ".join(args.methods)}. Training: {args.epochs:g} epochs for the baseline and for min-max, Bob's loss CE + {args.rec_weight:g} MSE (privacy weight {args.privacy_weight:g},
  Eve's CE capped at ln 10, {_schedule(args)}). Perturbation: PGD, {args.pgd_steps} steps, power
  {args.psr:g} dB below the signal, re-normalised, against the transmitter's own surrogate classifier
  (trained on as many of Bob's images as Eve has, another seed) through a sampled Eve channel, keeping Bob's decision.
  Time per dataset x latent (s): {json.dumps({k: round(v) for k, v in timing.items()})}.

## Results (results.csv; plots <dataset>_vs_latent.png)

{md_table(rows, cols, fmt)}

## Claims (pass/fail, decided by `vlm_privsc.schemes.claims` on the rows above)

{claims}

## Caveats
{threads_note(args.threads)}- Small CPU budgets (a few epochs on subsets); one seed; {args.n_test} test images per dataset (accuracy
  standard error up to ~1.6 points).
- Privacy here relies on the SNR gap between Bob and Eve; with equal channels anything Bob decodes a
  retrained Eve decodes too.
- The perturbation's effect on a non-adaptive Eve overstates its protection against an Eve who retrains
  on perturbed symbols: compare `eve_accuracy` with `eve_accuracy_adaptive`.
"""
    (out / "README.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
