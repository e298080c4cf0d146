"""Benchmark the privacy guard's offline detectors: how much of the labelled private: :mod:`vlm_privsc.evaluation.bench.guard`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.guard import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
