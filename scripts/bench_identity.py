"""Benchmark the identity matchers: face verification accuracy, leak controls and speed: :mod:`vlm_privsc.evaluation.bench.identity`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.identity import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
