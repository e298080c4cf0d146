"""Reproduction (d): complexity of the privacy schemes, measured on this machine.

For every scheme of the survey setting (CIFAR-10 32x32, ``--latent`` real features,
AWGN) this measures: parameters (the deployed transmitter + receiver, and the extra
train-time-only networks: IBAL's simulated attacker, min-max's eavesdropper, the
perturbation's surrogate), FLOPs per image at inference (transmitter + scheme + Bob,
counted by ``torch.utils.flop_counter.FlopCounterMode``; the perturbation's PGD
included), training time per epoch (``--epoch-images`` images, extrapolated from
``--measure-batches`` timed batches after one warm-up batch) and inference time per
image (batch 1 latency and batch 256 throughput, median of ``--repeats`` runs).

Random images are enough for timing (the cost does not depend on the pixel values),
so this script needs no data folder; ``--data`` is accepted for uniformity.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vlm_privsc.attacks import EavesdropperClassifier, InversionAttacker
from vlm_privsc.channel import AWGNChannel
from vlm_privsc.schemes import (
    IBAL,
    LBVQ,
    CooperativePerturbation,
    KeyedShuffle,
    LaplaceDP,
    MinMaxTraining,
    NoScheme,
    Scheme,
    TaskJSCC,
    train_ibal,
    train_link,
    train_minmax,
)
from vlm_privsc.schemes.repro import (
    Logger,
    base_parser,
    command_line,
    machine,
    md_table,
    threads_note,
    write_csv,
)

COLUMNS = (
    "scheme",
    "stage",
    "params_deployed",
    "params_train_only",
    "mflops_per_image",
    "train_s_per_epoch",
    "infer_ms_per_image_b1",
    "infer_ms_per_image_b256",
)


def parse(argv: list[str] | None):
    p = base_parser(__doc__.splitlines()[0], "eval/results/complexity")
    p.add_argument("--latent", type=int, default=128)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--measure-batches", type=int, default=30)
    p.add_argument("--epoch-images", type=int, default=50000, help="epoch size the train time is extrapolated to")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--pgd-steps", type=int, default=10)
    return p.parse_args(argv)


def nparams(*mods: nn.Module | None) -> int:
    seen: set[int] = set()
    n = 0
    for m in mods:
        if m is None:
            continue
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
    return n


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.quick:
        args.batch, args.measure_batches, args.repeats, args.pgd_steps = 16, 1, 1, 2
    out: Path = args.out
    log = Logger(out)
    cmd = command_line("scripts/complexity.py", argv)
    log(f"command: {cmd}")
    ch = AWGNChannel()
    snr = 12.0
    L = args.latent
    nb = args.measure_batches + 1
    x_train = torch.randint(0, 256, (nb * args.batch, 32, 32, 3), dtype=torch.uint8).numpy()
    y_train = torch.randint(0, 10, (nb * args.batch,)).numpy()

    def base_model(**kw) -> TaskJSCC:
        return TaskJSCC(3, 32, L, 10, **kw)

    rows = []
    specs: list[tuple[str, Callable[[], tuple[TaskJSCC, Scheme, nn.Module | None, Callable]]]] = []

    def plain(scheme_fn):
        def build():
            m, s = base_model(), scheme_fn()

            def train(m=m, s=s, n=None):
                train_link(
                    m,
                    x_train[:n],
                    y_train[:n],
                    channel=ch,
                    snr_db=snr,
                    scheme=s,
                    epochs=1,
                    batch_size=args.batch,
                    generator=torch.Generator().manual_seed(0),
                )

            return m, s, None, train

        return build

    specs.append(("deepjscc", plain(NoScheme)))
    specs.append(("dp", plain(lambda: LaplaceDP(epsilon=0.1))))
    specs.append(("encryption (shuffle)", plain(lambda: KeyedShuffle(key=1))))
    specs.append(("lbvq", plain(lambda: LBVQ(16, 2))))

    def ibal_build():
        m, a = base_model(variational=True), InversionAttacker(L // 2, 3, 32)
        ib = IBAL(train_snr_db=snr, attacker_epochs=0.25)

        def train(n=None):
            train_ibal(
                m,
                a,
                x_train[:n],
                y_train[:n],
                ibal=ib,
                channel=ch,
                epochs=1,
                batch_size=args.batch,
                generator=torch.Generator().manual_seed(0),
            )

        return m, ib, a, train

    specs.append(("ibal", ibal_build))

    def minmax_build():
        m, e = base_model(reconstruct=True), EavesdropperClassifier(L // 2, 10)
        mm = MinMaxTraining()

        def train(n=None):
            train_minmax(
                m,
                e,
                x_train[:n],
                y_train[:n],
                minmax=mm,
                bob_channel=ch,
                bob_snr_db=snr,
                eve_channel=ch,
                eve_snr_db=snr - 10,
                epochs=1,
                batch_size=args.batch,
                generator=torch.Generator().manual_seed(0),
            )

        return m, mm, e, train

    specs.append(("minmax (multi-task Bob)", minmax_build))

    def pert_build():
        m, sur = base_model(), EavesdropperClassifier(L // 2, 10)
        p = CooperativePerturbation(
            surrogate=sur, legit=m.classifier, steps=args.pgd_steps, eve_channel=ch, eve_snr_db=snr - 10
        )

        def train(n=None):  # the legitimate link is trained as usual; the surrogate is trained too
            train_link(
                m,
                x_train[:n],
                y_train[:n],
                channel=ch,
                snr_db=snr,
                epochs=1,
                batch_size=args.batch,
                generator=torch.Generator().manual_seed(0),
            )

        return m, p, sur, train

    specs.append(("perturbation (PGD)", pert_build))

    for name, build in specs:
        model, scheme, extra, train = build()
        model.eval()
        scheme.eval()
        deployed = nparams(
            model.features,
            model.to_latent,
            model.classifier,
            model.decoder,
            scheme if isinstance(scheme, LBVQ) else None,
        )
        g = torch.Generator().manual_seed(0)

        def infer(x: torch.Tensor, model=model, scheme=scheme, g=g) -> torch.Tensor:
            with torch.no_grad():
                y = scheme.roundtrip(model.encode(x, g), ch, snr, g)
                out = model.classify(y)
                if model.decoder is not None:
                    model.reconstruct(y)
                return out

        x1 = torch.rand(1, 3, 32, 32)
        with FlopCounterMode(display=False) as fc:
            infer(x1)
        mflops = fc.get_total_flops() / 1e6
        infer(x1)
        t1 = []
        for _ in range(args.repeats * 4):
            t = time.perf_counter()
            infer(x1)
            t1.append(time.perf_counter() - t)
        xb = torch.rand(256 if not args.quick else 16, 3, 32, 32)
        infer(xb)
        tb = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            infer(xb)
            tb.append((time.perf_counter() - t) / xb.shape[0])
        # training: one warm-up batch, then measure_batches batches, extrapolate to the epoch size
        train(n=args.batch)
        t = time.perf_counter()
        train(n=args.measure_batches * args.batch)
        per_img = (time.perf_counter() - t) / (args.measure_batches * args.batch)
        row = {
            "scheme": name,
            "stage": scheme.stage,
            "params_deployed": deployed,
            "params_train_only": nparams(extra) if name != "perturbation (PGD)" else 0,
            "mflops_per_image": mflops,
            "train_s_per_epoch": per_img * args.epoch_images,
            "infer_ms_per_image_b1": 1000 * statistics.median(t1),
            "infer_ms_per_image_b256": 1000 * statistics.median(tb),
        }
        if name == "perturbation (PGD)":
            row["params_deployed"] = deployed + nparams(extra)  # the surrogate runs at the transmitter
        rows.append(row)
        log(f"{name}: {row}")
    write_csv(out / "complexity.csv", rows, COLUMNS)
    quick = "\n**QUICK RUN: tiny sizes, the numbers below mean nothing.**\n" if args.quick else ""
    fmt = {
        "params_deployed": ",",
        "params_train_only": ",",
        "mflops_per_image": ".2f",
        "train_s_per_epoch": ".0f",
        "infer_ms_per_image_b1": ".2f",
        "infer_ms_per_image_b256": ".3f",
    }
    text = f"""# (d) Complexity of the privacy schemes, measured here
{quick}
Command (run from the repository root, {log.elapsed / 60:.1f} min wall clock here):

    {cmd}

Machine: {machine()}.

## What was measured
Survey setting: CIFAR-10 32x32, task-oriented JSCC with {L} real latent features ({L // 2} channel uses),
AWGN at 12 dB, batch {args.batch}.
- `params_deployed`: transmitter + scheme + Bob (encoder, classifier, decoder for the multi-task model,
  LBVQ codebook; for the perturbation the surrogate eavesdropper that runs at the transmitter).
  `params_train_only`: networks used only in training (IBAL's simulated attacker, min-max's eavesdropper).
- `mflops_per_image`: FLOPs (multiply-add = 2) of one image through transmitter, scheme and Bob, counted by
  torch's FlopCounterMode (matmuls and convolutions; element-wise work such as the Laplace sampling,
  shuffling or QAM demapping is not counted). The perturbation's count includes its {args.pgd_steps} PGD steps.
- `train_s_per_epoch`: seconds for an epoch of {args.epoch_images:,} images, extrapolated from
  {args.measure_batches} timed batches after a warm-up batch (IBAL: including its attacker pass, 0.25 epoch;
  perturbation: the legitimate link's ordinary training, the surrogate's training not included).
- `infer_ms_per_image_*`: median wall time per image, batch 1 and batch 256.

## Results (complexity.csv)

{md_table(rows, list(COLUMNS), fmt)}

## Caveats
- Wall times depend on the load of this shared 2-core machine when they were taken (load average in the
  machine line); the relative order of the schemes is the useful part.
{threads_note(args.threads)}- DP, shuffling and LBVQ add almost no FLOPs; their cost is element-wise work and Python overhead.
"""
    (out / "README.md").write_text(text)
    log(f"done in {log.elapsed:.0f}s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
