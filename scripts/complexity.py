"""Reproduction (d): complexity of the privacy schemes, measured on this machine: :mod:`vlm_privsc.evaluation.repro.complexity`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.complexity import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
