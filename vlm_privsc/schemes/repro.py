"""Small helpers shared by the reproduction scripts (``scripts/repro_*.py``, ``scripts/complexity.py``).

Argument conventions, CSV writing, a log that goes to stdout and a file, and the
machine description written beside every result.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vlm_privsc.schemes.data import DEFAULT_DATA, REPO_ROOT


def base_parser(description: str, default_out: str) -> argparse.ArgumentParser:
    """``--data``, ``--out``, ``--quick``, ``--seed``, ``--threads`` (the scripts' common flags)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="shared data folder (default ../shared/data beside the repository)",
    )
    p.add_argument("--out", type=Path, default=REPO_ROOT / default_out, help=f"output folder (default {default_out})")
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny run for tests: a handful of samples, synthetic data when --data is missing",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    return p


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """The command that reproduces this run (repository-relative script path)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python", script, *(shlex.quote(a) for a in args)])


def split_passthrough(argv: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """A wrapper script's own arguments and, after ``--``, those it passes on unchanged."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" not in args:
        return args, []
    i = args.index("--")
    return args[:i], args[i + 1 :]


def floats(text: str) -> list[float]:
    """``"0,5,10"`` or ``"0:20:2"`` (start:stop:step, inclusive) -> floats."""
    text = text.strip()
    if ":" in text:
        a, b, s = (float(t) for t in text.split(":"))
        n = int(math.floor((b - a) / s + 1e-9)) + 1
        return [a + i * s for i in range(n)]
    return [float(t) for t in text.split(",") if t.strip()]


def ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


class Logger:
    """Print with elapsed time; also append to ``out/log.txt``."""

    def __init__(self, out: Path, quiet: bool = False) -> None:
        self.t0 = time.perf_counter()
        self.path = out / "log.txt"
        self.quiet = quiet
        out.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def __call__(self, msg: str) -> None:
        line = f"[{time.perf_counter() - self.t0:7.1f}s] {msg}"
        if not self.quiet:
            print(line, flush=True)
        with self.path.open("a") as f:
            f.write(line + "\n")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """Rows -> CSV with exactly ``columns`` (floats with 4 decimals)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})


def machine() -> str:
    """One line about where the numbers were measured."""
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average at end {os.getloadavg()[0]:.1f}"
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads{load}"
    )


def threads_note(threads: int) -> str:
    """A caveat line about the thread count (markdown list item)."""
    if threads == 1:
        return (
            "- Run with `--threads 1`: the 2 cores were shared with other jobs (load average ~7); under that\n"
            "  oversubscription two torch threads ran much slower than one (a throwaway timing check of the\n"
            "  training step, not a committed measurement).\n"
        )
    return f"- Run with {threads} torch threads.\n"


def md_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: dict[str, str] | None = None) -> str:
    """A markdown table of ``rows``."""
    fmt = fmt or {}
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            cells.append(format(v, fmt.get(c, ".3f")) if isinstance(v, float) else str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


@dataclass(frozen=True)
class Interval:
    """Mean of a few seeds' values with a 95% Student-t interval (the mean itself for one seed)."""

    mean: float
    lo: float
    hi: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Interval:
        from scipy import stats

        n = len(values)
        mean = sum(values) / n
        if n < 2:
            return cls(mean, mean, mean)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        return cls(mean, mean - half, mean + half)
