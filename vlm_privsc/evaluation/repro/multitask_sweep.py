"""The min-max trade-off curve: reproduction (b) over privacy weights and seeds.

Runs :mod:`vlm_privsc.evaluation.repro.multitask` once per seed for the baseline link, which
does not depend on the privacy weight (``<out>/baseline/seed<seed>/``, ``--methods baseline``),
and once per (privacy weight, seed) for min-max (``<out>/w<weight>/seed<seed>/``, ``--methods
minmax``); a finished run is skipped, so the sweep resumes after an interruption. It then writes ``<out>/sweep.csv`` (every row with its weight and seed),
``<out>/summary.csv`` (per dataset, latent, weight and method: the mean over seeds and a
95% Student-t interval of each accuracy), ``<out>/tradeoff_<dataset>.png`` (Bob's against
Eve's accuracy, one point per weight) and ``<out>/README.md`` with the claims decided on the
seed means: min-max lowers Eve's accuracy by >= 20 points while Bob stays within 2 points of
the baseline (:func:`vlm_privsc.schemes.claims.minmax_claims`), and the perturbation claims.

Every argument after ``--`` goes to the multi-task reproduction unchanged (``--base``,
``--datasets``, ``--epochs`` ...); ``--privacy-weight``, ``--seed``, ``--methods`` and ``--out`` are
set here. Each seed's baseline rows are repeated under every weight in ``sweep.csv`` so that every
weight's claims compare with the same baseline model.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

from vlm_privsc.evaluation.repro import multitask
from vlm_privsc.schemes.claims import minmax_claims, perturbation_claims
from vlm_privsc.schemes.repro import Interval, command_line, md_table, split_passthrough, write_csv

ACCURACIES = ("bob_accuracy", "eve_accuracy", "eve_accuracy_adaptive")
SWEEP_COLUMNS = ("privacy_weight", "seed", *multitask.COLUMNS)
SUMMARY_COLUMNS = (
    "dataset",
    "latent_dim",
    "privacy_weight",
    "method",
    "seeds",
    *(f"{k}{s}" for k in ACCURACIES for s in ("", "_lo", "_hi")),
)


def parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    own, passthrough = split_passthrough(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0], help="min-max privacy weights")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=Path("eval/results/multitask/sweep"))
    args = p.parse_args(own)
    for flag in ("--privacy-weight", "--seed", "--methods", "--out"):
        if any(a == flag or a.startswith(flag + "=") for a in passthrough):
            p.error(f"{flag} is set by the sweep; do not pass it after --")
    if any(w < 0 for w in args.weights):
        p.error("--weights must be >= 0")
    return args, passthrough


def run_dir(out: Path, weight: float | None, seed: int) -> Path:
    """Where one run goes: ``baseline/seed<s>`` for the weight-free baseline (``weight`` None)."""
    return out / ("baseline" if weight is None else f"w{weight:g}") / f"seed{seed}"


def _run(passthrough: list[str], d: Path, method: str, seed: int, weight: float | None) -> list[dict[str, str]]:
    """One multi-task run of ``method`` (skipped when ``d`` holds a finished one); its rows of that method."""
    if not (d / "README.md").is_file():  # written last: the run finished
        print(
            f"[sweep] {method}, privacy weight {weight if weight is not None else '-'}, seed {seed} -> {d}", flush=True
        )
        extra = [] if weight is None else ["--privacy-weight", f"{weight:g}"]
        rc = multitask.main([*passthrough, *extra, "--methods", method, "--seed", str(seed), "--out", str(d)])
        if rc != 0:
            raise SystemExit(rc)
    with (d / "results.csv").open() as f:
        return [r for r in csv.DictReader(f) if r["method"].split("+")[0] == method]


def main(argv: Sequence[str] | None = None) -> int:
    args, passthrough = parse(argv)
    cmd = command_line("scripts/repro_multitask_sweep.py", argv)
    rows: list[dict[str, object]] = []
    for s in args.seeds:
        base = _run(passthrough, run_dir(args.out, None, s), "baseline", s, None)
        for w in args.weights:
            mm = _run(passthrough, run_dir(args.out, w, s), "minmax", s, w)
            rows.extend({"privacy_weight": w, "seed": s, **r} for r in base + mm)
    write_csv(args.out / "sweep.csv", rows, SWEEP_COLUMNS)
    summary = summarise(rows)
    write_csv(args.out / "summary.csv", summary, SUMMARY_COLUMNS)
    for ds in dict.fromkeys(str(r["dataset"]) for r in summary):
        _plot([r for r in summary if r["dataset"] == ds], args.out / f"tradeoff_{ds}.png", ds)
    _readme(args, cmd, passthrough, summary)
    print(f"[sweep] {len(rows)} rows -> {args.out}", flush=True)
    return 0


def summarise(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Per (dataset, latent, weight, method): mean and 95% interval of each accuracy over seeds."""
    groups: dict[tuple[str, str, float, str], list[dict[str, object]]] = {}
    for r in rows:
        key = (str(r["dataset"]), str(r["latent_dim"]), float(str(r["privacy_weight"])), str(r["method"]))
        groups.setdefault(key, []).append(r)
    out: list[dict[str, object]] = []
    for (ds, lat, w, method), rr in groups.items():
        row: dict[str, object] = {"dataset": ds, "latent_dim": lat, "privacy_weight": w, "method": method}
        row["seeds"] = len(rr)
        for k in ACCURACIES:
            iv = Interval.of([float(str(r[k])) for r in rr])
            row[k], row[f"{k}_lo"], row[f"{k}_hi"] = round(iv.mean, 4), round(iv.lo, 4), round(iv.hi, 4)
        out.append(row)
    return out


def claims(summary: Sequence[dict[str, object]]) -> list[str]:
    """The min-max and perturbation claims decided on the seed means, one block per weight."""
    lines = []
    for w in dict.fromkeys(float(str(r["privacy_weight"])) for r in summary):
        at = [r for r in summary if float(str(r["privacy_weight"])) == w]
        lines += [f"privacy weight {w:g}: {c}" for c in minmax_claims(at) + perturbation_claims(at)]
    return lines


def _plot(rows: list[dict[str, object]], path: Path, ds: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for i, method in enumerate(dict.fromkeys(str(r["method"]) for r in rows)):
        rr = sorted((r for r in rows if r["method"] == method), key=lambda r: float(str(r["privacy_weight"])))

        def col(k: str, rr: list[dict[str, object]] = rr) -> list[float]:
            return [float(str(r[k])) for r in rr]

        x, y = col("eve_accuracy"), col("bob_accuracy")
        xerr = [[a - b for a, b in zip(x, col("eve_accuracy_lo"))], [b - a for a, b in zip(x, col("eve_accuracy_hi"))]]
        yerr = [[a - b for a, b in zip(y, col("bob_accuracy_lo"))], [b - a for a, b in zip(y, col("bob_accuracy_hi"))]]
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="-o", ms=3, color=f"C{i}", capsize=2, label=method)
        if method.startswith("minmax"):
            for r, a, b in zip(rr, x, y):
                ax.annotate(
                    f"w={float(str(r['privacy_weight'])):g}",
                    (a, b),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
    ax.set(
        xlabel="Eve's accuracy (fresh classifier)",
        ylabel="Bob's accuracy",
        title=f"{ds}: min-max trade-off (95% t over seeds)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _readme(args: argparse.Namespace, cmd: str, passthrough: list[str], summary: list[dict[str, object]]) -> None:
    quick = (
        "\n**QUICK RUN: tiny/synthetic data, the numbers below mean nothing.**\n" if "--quick" in passthrough else ""
    )
    cols = ["dataset", "latent_dim", "privacy_weight", "method", "seeds", *ACCURACIES]
    table = [{k: r[k] for k in cols} for r in summary]
    for r, s in zip(table, summary):
        for k in ACCURACIES:
            r[k] = f"{float(str(s[k])):.3f} [{float(str(s[k + '_lo'])):.3f}, {float(str(s[k + '_hi'])):.3f}]"
    text = f"""# Min-max trade-off: reproduction (b) over privacy weights and seeds
{quick}
Command (repository root):

    {cmd}

One baseline run per seed in `baseline/seed<seed>/` (it does not depend on the weight: the same model
is the baseline of every weight) and one min-max run per (privacy weight, seed) in `w<weight>/seed<seed>/`
(each run's README gives the setting). Means over seeds
with a 95% Student-t interval (`summary.csv`; every row in `sweep.csv`); plots `tradeoff_<dataset>.png`.

## Results

{md_table(table, cols)}

## Claims (decided on the seed means by `vlm_privsc.schemes.claims`)

{chr(10).join(f"- {c}" for c in claims(summary))}
"""
    (args.out / "README.md").write_text(text)
