"""Reproduction (a) over seeds: the survey's schemes with 95% intervals over training seeds.

Runs :mod:`vlm_privsc.evaluation.repro.survey` once per seed into ``<out>/seed<seed>/`` (a
finished run is skipped, so the runs resume after an interruption; ``--reuse SEED=DIR`` reads a
finished run made elsewhere with the same arguments), then writes ``<out>/summary.csv`` (per
scheme and test SNR: the mean over seeds and a 95% Student-t interval of Bob's accuracy and of
the attacker's PSNR), ``<out>/survey_seeds.png`` and ``<out>/README.md`` with the survey's
ordering claim (:func:`vlm_privsc.schemes.claims.ordering_claims`) decided on the seed means,
and, beside each line, how often each verdict came out seed by seed.

A seed changes Bob's and Eve's data split, every fine-tune, the attackers' initialisation and
the channel noise; a shared warm start (``--base``) stays the same model for every seed.
Every argument after ``--`` goes to the survey unchanged; ``--seed`` and ``--out`` are set here.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from vlm_privsc.evaluation.repro import survey
from vlm_privsc.schemes.claims import ordering_claims
from vlm_privsc.schemes.repro import Interval, command_line, md_table, split_passthrough, write_csv

MEASURES = ("accuracy", "attacker_psnr_db")
SUMMARY_COLUMNS = ("scheme", "snr_db", "seeds", *(f"{k}{s}" for k in MEASURES for s in ("", "_lo", "_hi")))
CLAIM_SNRS = (0.0, 10.0, 20.0)


def parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    own, passthrough = split_passthrough(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=Path("eval/results/survey/seeds"))
    p.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="SEED=DIR",
        help="a finished survey run of that seed (same arguments) to read instead of running it",
    )
    args = p.parse_args(own)
    for flag in ("--seed", "--out"):
        if any(a == flag or a.startswith(flag + "=") for a in passthrough):
            p.error(f"{flag} is set here; do not pass it after --")
    reuse: dict[int, Path] = {}
    for item in args.reuse:
        seed, sep, folder = item.partition("=")
        if not sep or not seed.strip().lstrip("-").isdigit():
            p.error(f"--reuse {item!r}: expected SEED=DIR")
        if not (Path(folder) / "accuracy_vs_snr.csv").is_file():
            p.error(f"--reuse {item!r}: {folder} holds no accuracy_vs_snr.csv of a finished survey run")
        reuse[int(seed)] = Path(folder)
    args.reuse = reuse
    return args, passthrough


def main(argv: Sequence[str] | None = None) -> int:
    args, passthrough = parse(argv)
    cmd = command_line("scripts/repro_survey_seeds.py", argv)
    per_seed: dict[int, list[dict[str, str]]] = {}
    floors: list[float] = []
    for s in args.seeds:
        d = args.reuse.get(s, args.out / f"seed{s}")
        if not (d / "README.md").is_file():  # written last: the run finished
            print(f"[seeds] survey seed {s} -> {d}", flush=True)
            rc = survey.main([*passthrough, "--seed", str(s), "--out", str(d)])
            if rc != 0:
                return rc
        with (d / "accuracy_vs_snr.csv").open() as f:
            per_seed[s] = list(csv.DictReader(f))
        ref = d / "reference.json"
        if ref.is_file():
            floors.append(float(json.loads(ref.read_text())["mean_image_psnr_db"]))
    summary = summarise(per_seed)
    write_csv(args.out / "summary.csv", summary, SUMMARY_COLUMNS)
    _plot(summary, args.out / "survey_seeds.png", floors)
    _readme(args, cmd, passthrough, summary, per_seed, floors)
    print(f"[seeds] {len(summary)} rows over seeds {args.seeds} -> {args.out}", flush=True)
    return 0


def summarise(per_seed: dict[int, list[dict[str, str]]]) -> list[dict[str, object]]:
    """Per (scheme, test SNR): mean and 95% t interval over seeds of the accuracy and attacker PSNR."""
    groups: dict[tuple[str, float], list[dict[str, str]]] = {}
    for rows in per_seed.values():
        for r in rows:
            groups.setdefault((r["scheme"], float(r["snr_db"])), []).append(r)
    out: list[dict[str, object]] = []
    for (scheme, snr), rr in groups.items():
        row: dict[str, object] = {"scheme": scheme, "snr_db": snr, "seeds": len(rr)}
        for k in MEASURES:
            iv = Interval.of([float(r[k]) for r in rr])
            row[k], row[f"{k}_lo"], row[f"{k}_hi"] = round(iv.mean, 4), round(iv.lo, 4), round(iv.hi, 4)
        out.append(row)
    return out


def claims(summary: Sequence[dict[str, object]], per_seed: dict[int, list[dict[str, str]]]) -> list[str]:
    """The ordering claim on the seed means at 0 / 10 / 20 dB, each line with its per-seed verdicts."""
    lines = []
    for snr in CLAIM_SNRS:
        tallies = [[c.split(" ", 1)[0] for c in ordering_claims(rows, snr)] for rows in per_seed.values() if rows]
        for i, line in enumerate(ordering_claims(summary, snr)):
            count = Counter(t[i] for t in tallies if i < len(t))
            lines.append(f"{line} (seed by seed: {', '.join(f'{n} {v}' for v, n in sorted(count.items()))})")
    return lines


def _plot(rows: Sequence[dict[str, object]], path: Path, floors: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, scheme in enumerate(dict.fromkeys(str(r["scheme"]) for r in rows)):
        rr = sorted((r for r in rows if r["scheme"] == scheme), key=lambda r: float(str(r["snr_db"])))
        x = [float(str(r["snr_db"])) for r in rr]
        for a, k in zip(ax, MEASURES):
            y = [float(str(r[k])) for r in rr]
            lo = [float(str(r[f"{k}_lo"])) for r in rr]
            hi = [float(str(r[f"{k}_hi"])) for r in rr]
            a.plot(x, y, "-o", ms=3, color=f"C{i}", label=scheme)
            a.fill_between(x, lo, hi, color=f"C{i}", alpha=0.15)
    if floors:
        ax[1].axhline(sum(floors) / len(floors), color="k", ls=":", lw=1, label="mean-image floor")
    ax[0].set(xlabel="test SNR (dB)", ylabel="Bob's accuracy", title="CIFAR-10: utility (95% t over seeds)")
    ax[1].set(xlabel="test SNR (dB)", ylabel="attacker PSNR (dB)", title="model inversion (lower is more private)")
    for a in ax:
        a.grid(alpha=0.3)
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _readme(
    args: argparse.Namespace,
    cmd: str,
    passthrough: list[str],
    summary: list[dict[str, object]],
    per_seed: dict[int, list[dict[str, str]]],
    floors: list[float],
) -> None:
    quick = (
        "\n**QUICK RUN: tiny/synthetic data, the numbers below mean nothing.**\n" if "--quick" in passthrough else ""
    )
    snrs = [s for s in CLAIM_SNRS if any(abs(float(str(r["snr_db"])) - s) < 1e-6 for r in summary)]
    table = []
    for scheme in dict.fromkeys(str(r["scheme"]) for r in summary):
        row: dict[str, object] = {"scheme": scheme}
        for r in summary:
            if r["scheme"] != scheme or float(str(r["snr_db"])) not in snrs:
                continue
            snr = float(str(r["snr_db"]))
            row[f"acc@{snr:g}dB"] = (
                f"{float(str(r['accuracy'])):.3f} [{float(str(r['accuracy_lo'])):.3f}, {float(str(r['accuracy_hi'])):.3f}]"
            )
            row[f"PSNR@{snr:g}dB"] = (
                f"{float(str(r['attacker_psnr_db'])):.2f} [{float(str(r['attacker_psnr_db_lo'])):.2f}, "
                f"{float(str(r['attacker_psnr_db_hi'])):.2f}]"
            )
        table.append(row)
    cols = ["scheme", *(f"{k}@{s:g}dB" for s in snrs for k in ("acc", "PSNR"))]
    runs = ", ".join(f"seed {s}: `{args.reuse.get(s, Path(f'seed{s}'))}`" for s in per_seed)
    floor = f"{sum(floors) / len(floors):.3f} dB (mean over {len(floors)} seeds)" if floors else "not recorded"
    lines = claims(summary, per_seed)
    verdicts = Counter(c.split(" ", 1)[0] for c in lines)
    text = f"""# Survey schemes over seeds: reproduction (a) with 95% intervals
{quick}
Command (repository root):

    {cmd}

One survey run per seed ({runs}; each run's README gives the setting). Means over
{len(per_seed)} seeds with a 95% Student-t interval (`summary.csv`, every test SNR; plot `survey_seeds.png`).
Mean-image floor of the attacker (she learned nothing image-specific): {floor}.

## Results (Bob's accuracy; attacker PSNR in dB, lower is more private)

{md_table(table, cols)}

## Claims (decided on the seed means by `vlm_privsc.schemes.claims.ordering_claims`)

The survey's ordering "IBAL / LBVQ trade privacy for utility better than DP": PASS = the learned scheme
Pareto-dominates the DP scheme beyond 1.5 points / 0.1 dB, FAIL = it is dominated, TRADE = neither.
{", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) or "no lines"} over the seed means.

{chr(10).join(f"- {c}" for c in lines)}
"""
    (args.out / "README.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
