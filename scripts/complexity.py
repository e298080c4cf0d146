"""Reproduction (d): complexity of the privacy schemes, measured on this machine: :mod:`vlm_privsc.evaluation.repro.complexity`."""

from vlm_privsc.evaluation.repro.complexity import main

if __name__ == "__main__":
    raise SystemExit(main())
