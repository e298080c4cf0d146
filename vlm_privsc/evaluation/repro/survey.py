"""Reproduction (a): CIFAR-10 task accuracy and model-inversion PSNR vs test SNR for the survey's schemes.

Setting (after Wang et al., IEEE TWC 2024, arXiv:2312.03252, Figs. of accuracy / attacker
PSNR vs SNR): a task-oriented JSCC (CNN encoder -> ``--latent`` real features = latent/2
complex symbols -> AWGN -> classifier), trained at ``--train-snr`` dB, evaluated at
test SNRs 0-20 dB on the 1,017 lossless CIFAR-10 test images. Schemes:

- ``deepjscc``: no protection;
- ``dp_eps{0.05,0.1,0.9}``: Laplace DP on the symbols (clip 1, sensitivity 2), the
  model fine-tuned from ``deepjscc`` with the noise in the loop;
- ``encryption``: key-guided shuffling with a fresh permutation per image (the ``deepjscc``
  model; Bob inverts, Eve has no key); ``encryption_fixedkey``: one fixed permutation;
- ``ibal``: variational encoder + attacker retrained every epoch;
- ``lbvq``: 16-entry codebook over pairs of reals -> one 16-QAM symbol each, fine-tuned
  from ``deepjscc`` with real symbol errors.

The attacker (one per scheme) is a model-inversion network trained on pairs (image,
intercepted symbols) from an auxiliary split of the training set disjoint from Bob's,
at SNRs drawn uniformly in [0, 20] dB, loss MSE + 0.1 (1 - SSIM) (no perceptual
network offline). It is then evaluated on the test images at each SNR.

At scale (``--base CKPT``): the DeepJSCC baseline is the converged ResNet-20 link of
``scripts/train_scheme_base.py`` (the shared warm start); DP and LBVQ are fine-tuned
from it with :func:`vlm_privsc.schemes.fit.fit_link` (AdamW, cosine, crop + flip, label
smoothing), IBAL starts from it. ``--base`` was trained on all 50k training images, so
Eve's auxiliary images were seen by the encoder's training (never the test images).

Writes ``accuracy_vs_snr.csv`` (scheme, snr_db, accuracy, attacker_psnr_db),
``details.csv``, ``accuracy_vs_snr.png`` and ``README.md`` into ``--out``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch

from vlm_privsc.attacks import InversionAttacker, evaluate_attack, train_inversion
from vlm_privsc.channel import AWGNChannel
from vlm_privsc.schemes import (
    IBAL,
    LBVQ,
    KeyedShuffle,
    LaplaceDP,
    NoScheme,
    Scheme,
    TaskJSCC,
    evaluate_link,
    train_ibal,
    train_link,
)
from vlm_privsc.schemes.claims import ordering_claims
from vlm_privsc.schemes.data import load_dataset
from vlm_privsc.schemes.fit import FitConfig, fit_link, load_link
from vlm_privsc.schemes.repro import (
    Logger,
    base_parser,
    command_line,
    floats,
    machine,
    md_table,
    threads_note,
    write_csv,
)

DP_BUDGETS = (0.05, 0.1, 0.9)
COLUMNS = ("scheme", "snr_db", "accuracy", "attacker_psnr_db")


def parse(argv: list[str] | None):
    p = base_parser(__doc__.splitlines()[0], "eval/results/survey")
    p.add_argument("--n-train", type=int, default=20000, help="Bob's training images (from the 50k JPEGs)")
    p.add_argument("--n-attack", type=int, default=8000, help="Eve's auxiliary images (disjoint from Bob's)")
    p.add_argument("--n-test", type=int, default=None, help="test images (default all 1,017 lossless)")
    p.add_argument("--epochs", type=float, default=3, help="epochs of the DeepJSCC baseline")
    p.add_argument("--finetune-epochs", type=float, default=1, help="fine-tuning epochs of DP and LBVQ")
    p.add_argument("--ibal-epochs", type=int, default=2, help="IBAL epochs")
    p.add_argument(
        "--ibal-init",
        choices=("base", "scratch"),
        default="base",
        help="start IBAL from the baseline's weights (mean head; budget measure) or from scratch",
    )
    p.add_argument("--attacker-epochs", type=float, default=2, help="epochs of each post-hoc attacker")
    p.add_argument(
        "--ibal-attacker-epochs",
        type=float,
        default=0.25,
        help="attacker passes (over Bob's set) inside every IBAL epoch",
    )
    p.add_argument(
        "--base",
        type=Path,
        default=None,
        help="warm start: a final.pt of scripts/train_scheme_base.py (skips training the baseline)",
    )
    p.add_argument("--finetune-lr", type=float, default=3e-4, help="AdamW peak rate of the fine-tunes with --base")
    p.add_argument("--latent", type=int, default=128, help="real latent features (latent/2 channel uses)")
    p.add_argument("--train-snr", type=float, default=12.0)
    p.add_argument("--snrs", default="0:20:2", help="test SNRs, '0:20:2' or '0,5,10'")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--reference-only",
        action="store_true",
        help="only measure the floor: PSNR of guessing the attacker's mean image (reference.json)",
    )
    p.add_argument(
        "--schemes",
        default="deepjscc,dp,encryption,encryption_fixedkey,ibal,lbvq",
        help="subset of deepjscc,dp,encryption,encryption_fixedkey,ibal,lbvq",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.quick:
        args.n_train, args.n_attack, args.n_test = 128, 64, 32
        args.epochs, args.finetune_epochs, args.attacker_epochs, args.ibal_attacker_epochs = 1, 1, 1, 0.5
        args.snrs = "0,20" if args.snrs == "0:20:2" else args.snrs
        args.ibal_epochs = 1
        args.batch = 32
    out: Path = args.out
    log = Logger(out)
    cmd = command_line("scripts/repro_survey.py", argv)
    log(f"command: {cmd}")
    wanted = [s.strip() for s in args.schemes.split(",") if s.strip()]

    data = load_dataset("cifar10", args.data, quick=args.quick, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(data.x_train))
    need = args.n_train + args.n_attack
    if need > len(perm):
        args.n_attack = max(len(perm) - args.n_train, len(perm) // 3)
        args.n_train = len(perm) - args.n_attack
    bob_i, eve_i = perm[: args.n_train], perm[args.n_train : args.n_train + args.n_attack]
    xb, yb = data.x_train[bob_i], data.y_train[bob_i]
    xe = data.x_train[eve_i]
    xt, yt = data.x_test, data.y_test
    if args.n_test is not None:
        xt, yt = xt[: args.n_test], yt[: args.n_test]
    log(f"data: {data.name} ({data.note}); Bob {len(xb)}, Eve aux {len(xe)}, test {len(xt)}")

    floor = mean_image_psnr(xe, xt)
    log(f"reference: guessing Eve's mean training image gives {floor:.2f} dB on the test images")
    (out / "reference.json").write_text(
        json.dumps(
            {"mean_image_psnr_db": round(floor, 3), "n_attack": len(xe), "n_test": len(xt), "seed": args.seed}, indent=1
        )
    )
    if args.reference_only:
        return 0
    ch = AWGNChannel()
    snrs = floats(args.snrs)
    gen = torch.Generator().manual_seed(args.seed)
    c, s = data.channels, data.image_size

    def new_model(variational: bool = False) -> TaskJSCC:
        if args.base is not None:
            return TaskJSCC(**load_link(args.base).config(variational=variational))  # type: ignore[arg-type]
        return TaskJSCC(c, s, args.latent, data.num_classes, variational=variational)

    def finetune(m: TaskJSCC, sch: Scheme) -> None:
        if args.base is None:
            train_link(
                m,
                xb,
                yb,
                channel=ch,
                snr_db=args.train_snr,
                scheme=sch,
                epochs=args.finetune_epochs,
                batch_size=args.batch,
                lr=args.lr,
                generator=gen,
                log=log,
            )
            return
        cfg = FitConfig(
            epochs=max(1, int(round(args.finetune_epochs))),
            batch_size=args.batch,
            lr=args.finetune_lr,
            optimizer="adamw",
            weight_decay=0.0,
            schedule="cosine",
            warmup=0.05,
            snr_db=args.train_snr,
        )
        fit_link(m, xb, yb, channel=ch, cfg=cfg, scheme=sch, seed=args.seed, log=log)

    systems: dict[str, tuple[TaskJSCC, Scheme]] = {}
    timing: dict[str, float] = {}

    def timed(name: str, t0: float) -> None:
        timing[name] = log.elapsed - t0
        log(f"{name}: trained in {timing[name]:.0f}s")

    t0 = log.elapsed
    if args.base is not None:
        base = load_link(args.base)
        args.latent = base.latent_dim
        log(f"deepjscc: warm start {args.base} ({base.config()})")
    else:
        log(f"training deepjscc ({args.epochs} epochs at {args.train_snr} dB)")
        base = new_model()
        train_link(
            base,
            xb,
            yb,
            channel=ch,
            snr_db=args.train_snr,
            epochs=args.epochs,
            batch_size=args.batch,
            lr=args.lr,
            generator=gen,
            log=log,
        )
    timed("deepjscc", t0)
    if "deepjscc" in wanted:
        systems["deepjscc"] = (base, NoScheme())
    if "encryption" in wanted:
        systems["encryption"] = (base, KeyedShuffle(key=f"survey-{args.seed}", per_message=True))
    if "encryption_fixedkey" in wanted:
        systems["encryption_fixedkey"] = (base, KeyedShuffle(key=f"survey-{args.seed}", per_message=False))
    if "dp" in wanted:
        for eps in DP_BUDGETS:
            t0 = log.elapsed
            log(f"fine-tuning dp eps={eps} ({args.finetune_epochs} epochs)")
            m, sch = copy.deepcopy(base), LaplaceDP(epsilon=eps, clip=1.0)
            finetune(m, sch)
            systems[f"dp_eps{eps:g}"] = (m, sch)
            timed(f"dp_eps{eps:g}", t0)
    if "lbvq" in wanted:
        t0 = log.elapsed
        log(f"fine-tuning lbvq ({args.finetune_epochs} epochs)")
        m, vq = copy.deepcopy(base), LBVQ(num_codewords=16, dim=2, commitment=0.25)
        with torch.no_grad():
            vq.init_from(m.encode(torch.as_tensor(xb[:512]).permute(0, 3, 1, 2).float() / 255), gen)
        finetune(m, vq)
        systems["lbvq"] = (m, vq)
        timed("lbvq", t0)
    if "ibal" in wanted:
        t0 = log.elapsed
        log(
            f"training ibal ({args.ibal_epochs} epochs from {args.ibal_init}, attacker {args.ibal_attacker_epochs} "
            "pass per epoch)"
        )
        m = new_model(variational=True)
        if args.ibal_init == "base":
            _warm_start_variational(m, base)
        ib = IBAL(train_snr_db=args.train_snr, attacker_epochs=args.ibal_attacker_epochs)
        sim_att = InversionAttacker(m.k, c, s)
        train_ibal(
            m,
            sim_att,
            xb,
            yb,
            ibal=ib,
            channel=ch,
            epochs=args.ibal_epochs,
            batch_size=args.batch,
            lr=args.lr if args.base is None else args.finetune_lr,
            generator=gen,
            log=log,
        )
        systems["ibal"] = (m, ib)
        timed("ibal", t0)

    rows, details = [], []
    for name, (model, scheme) in systems.items():
        t0 = log.elapsed
        attacker = InversionAttacker(model.k, c, s)

        def view(x: torch.Tensor, g: torch.Generator | None, model=model, scheme=scheme) -> torch.Tensor:
            snr = torch.rand(x.shape[0], generator=g) * 20.0
            return scheme.intercept(model.encode(x, g), ch, snr, g)

        log(f"attacker for {name} ({args.attacker_epochs} epochs on {len(xe)} images)")
        train_inversion(
            attacker, view, xe, epochs=args.attacker_epochs, batch_size=args.batch, lr=args.lr, generator=gen
        )
        timing[f"attacker_{name}"] = log.elapsed - t0
        for snr in snrs:
            g = torch.Generator().manual_seed(args.seed * 7919 + int(snr * 10))
            bob = evaluate_link(model, xt, yt, channel=ch, snr_db=snr, scheme=scheme, generator=g)

            def tview(x: torch.Tensor, gg: torch.Generator | None, model=model, scheme=scheme, snr=snr):
                return scheme.intercept(model.encode(x, gg), ch, snr, gg)

            att = evaluate_attack(tview, xt, inverter=attacker, generator=g)
            rows.append({"scheme": name, "snr_db": snr, "accuracy": bob.accuracy, "attacker_psnr_db": att.psnr_db})
            details.append(
                {
                    "scheme": name,
                    "snr_db": snr,
                    "accuracy": bob.accuracy,
                    "attacker_psnr_db": att.psnr_db,
                    "attacker_ssim": att.ssim,
                    "n_test": bob.n,
                }
            )
        write_csv(out / "accuracy_vs_snr.csv", rows, COLUMNS)  # partial results as it goes
        log(
            f"{name}: acc@{snrs[-1]:g}dB {rows[-1]['accuracy']:.3f}, attacker PSNR {rows[-1]['attacker_psnr_db']:.2f} dB"
        )

    write_csv(out / "accuracy_vs_snr.csv", rows, COLUMNS)
    write_csv(
        out / "details.csv", details, ("scheme", "snr_db", "accuracy", "attacker_psnr_db", "attacker_ssim", "n_test")
    )
    (out / "timings.json").write_text(json.dumps({k: round(v, 1) for k, v in timing.items()}, indent=1))
    _plot(rows, out / "accuracy_vs_snr.png", args.quick)
    _readme(out, cmd, args, rows, timing, log.elapsed, data, len(xb), len(xe), len(xt), floor)
    log(f"done in {log.elapsed:.0f}s -> {out}")
    return 0


def mean_image_psnr(x_aux: np.ndarray, x_test: np.ndarray) -> float:
    """Mean per-image PSNR of the constant guess 'the average auxiliary image' (an attacker who learned nothing)."""
    from vlm_privsc.attacks import mean_psnr, to_float_images

    mean = to_float_images(x_aux).mean(0, keepdim=True)
    t = to_float_images(x_test)
    return mean_psnr(mean.expand_as(t), t)


@torch.no_grad()
def _warm_start_variational(m: TaskJSCC, base: TaskJSCC) -> None:
    """Copy the baseline into a variational model: same features and classifier, the mean
    head = the baseline's latent layer, log-variance head zero weights and bias -4 (small
    initial noise, which the KL term then trades against the task)."""
    m.features.load_state_dict(base.features.state_dict())
    m.classifier.load_state_dict(base.classifier.state_dict())
    d = base.latent_dim
    m.to_latent.weight[:d].copy_(base.to_latent.weight)
    m.to_latent.bias[:d].copy_(base.to_latent.bias)
    m.to_latent.weight[d:].zero_()
    m.to_latent.bias[d:].fill_(-4.0)


def _plot(rows: list[dict], path: Path, quick: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(r["scheme"] for r in rows):
        rr = [r for r in rows if r["scheme"] == name]
        x = [r["snr_db"] for r in rr]
        ax[0].plot(x, [r["accuracy"] for r in rr], marker="o", ms=3, label=name)
        ax[1].plot(x, [r["attacker_psnr_db"] for r in rr], marker="o", ms=3, label=name)
    ax[0].set(xlabel="test SNR (dB)", ylabel="Bob's accuracy", title="CIFAR-10 classification")
    ax[1].set(xlabel="test SNR (dB)", ylabel="attacker PSNR (dB)", title="model-inversion attack")
    for a in ax:
        a.grid(alpha=0.3)
    ax[1].legend(fontsize=7)
    if quick:
        fig.suptitle("QUICK RUN (synthetic/tiny) - not a result")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _readme(out: Path, cmd: str, args, rows, timing, total, data, n_bob, n_eve, n_test, floor: float) -> None:
    names = list(dict.fromkeys(r["scheme"] for r in rows))
    snrs = list(dict.fromkeys(r["snr_db"] for r in rows))
    pick = [v for v in (0.0, 10.0, 20.0) if v in snrs] or snrs
    table = []
    for n in names:
        d = {"scheme": n}
        for v in pick:
            r = next(r for r in rows if r["scheme"] == n and r["snr_db"] == v)
            d[f"acc@{v:g}dB"] = r["accuracy"]
            d[f"PSNR@{v:g}dB"] = r["attacker_psnr_db"]
        table.append(d)
    cols = ["scheme"] + [f"{k}@{v:g}dB" for v in pick for k in ("acc", "PSNR")]
    fmt = {c: (".2f" if c.startswith("PSNR") else ".3f") for c in cols}
    claims = "\n".join(f"- {line}" for v in pick for line in ordering_claims(rows, v)) or "- (no rows)"
    quick = "\n**QUICK RUN: tiny/synthetic data, the numbers below mean nothing.**\n" if args.quick else ""
    if args.base is None:
        encoder, baseline, ft = "3-conv encoder", f"{args.epochs:g} epochs", " (Adam)"
        budget_note = (
            "- Small CPU budgets: the models are far from converged (the papers train for 100+ epochs on GPUs), so\n"
            "  absolute accuracies are low; compare schemes with each other, not with the papers' numbers.\n"
        )
    else:
        cfg = {k: v for k, v in load_link(args.base).config().items() if k in ("arch", "blocks", "width")}
        encoder = f"ResNet trunk {cfg} with BatchNorm, bottleneck after the global pool"
        baseline = f"the converged warm start `{args.base}` (scripts/train_scheme_base.py, all 50k training images)"
        ft = f" (AdamW {args.finetune_lr:g}, cosine, crop + flip, label smoothing 0.1)"
        budget_note = (
            "- The warm start saw all 50k training images, Eve's auxiliary split included (never the test images).\n"
        )
    text = f"""# (a) Survey schemes on CIFAR-10: accuracy and attacker PSNR vs SNR
{quick}
Command (run from the repository root, {total / 60:.1f} min wall clock here):

    {cmd}

Machine: {machine()}.

## What was measured
- Task-oriented JSCC (`vlm_privsc.schemes.TaskJSCC`: {encoder}, {args.latent} real latent features =
  {args.latent // 2} complex channel uses, two-layer MLP classifier), AWGN, trained at {args.train_snr:g} dB.
- Data: {data.note}. Bob trained on {n_bob} training images, the attacker on {n_eve} other training images
  (disjoint), everything evaluated on {n_test} test images at each test SNR.
- `accuracy`: Bob's top-1 accuracy (he holds the key / codebook). `attacker_psnr_db`: mean per-image PSNR
  of a model-inversion attacker (decoder-shaped network, MSE + 0.1 (1 - SSIM); no perceptual network is
  available offline) trained on intercepted symbols at SNRs uniform in [0, 20] dB, with every public
  parameter but no key. For `encryption` the permutation is fresh per image (nonce in the clear),
  for `encryption_fixedkey` one permutation for all images.
- Training budget: baseline {baseline}, DP / LBVQ fine-tuned {args.finetune_epochs:g} epochs{ft} from the
  baseline, IBAL {args.ibal_epochs} epochs starting from {"the baseline's weights (mean head = baseline latent layer)" if args.ibal_init == "base" else "scratch"}
  (attacker retrained {args.ibal_attacker_epochs:g} pass per epoch, weight 1/(1+sigma), sigma = noise std at
  {args.train_snr:g} dB, KL weight 1 on the per-dimension mean KL), post-hoc attackers {args.attacker_epochs:g} epochs.
  Time per stage (s): {json.dumps({k: round(v) for k, v in timing.items()})}.

## Results (full table: accuracy_vs_snr.csv; SSIM in details.csv; plot accuracy_vs_snr.png)

{md_table(table, cols, fmt)}

Reference: an attacker who always outputs the mean of her auxiliary images scores {floor:.2f} dB on the same
test images (`reference.json`); attacker PSNRs at that level mean she recovered nothing image-specific.

## Claims (pass/fail, decided by `vlm_privsc.schemes.claims` on the rows above)

The survey's ordering, learned schemes (IBAL, LBVQ) trade privacy for utility better than DP noise:
PASS = the learned scheme Pareto-dominates the DP scheme at that test SNR (accuracy >=, attacker PSNR <=,
one of them better by more than 1.5 accuracy points or 0.1 dB), FAIL = it is dominated, TRADE = neither (the
claim is not supported either way).

{claims}

## Caveats
{budget_note}{threads_note(args.threads)}- One seed, no confidence intervals; 1,017 test images (accuracy standard error about 1.5 points).
- DP: per-coordinate Laplace mechanism, clip 1, sensitivity 2, scale 2/epsilon, re-normalised to unit
  power; each coordinate is epsilon-DP, the whole vector only {args.latent}*epsilon-DP by composition.
- The attacker PSNR of a shuffled link without the key is that of an attacker who learns from queries;
  with one fixed key the permutation is learnable (see `encryption_fixedkey`).
"""
    (out / "README.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
