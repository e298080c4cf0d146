"""The min-max trade-off curve over privacy weights and seeds: :mod:`vlm_privsc.evaluation.repro.multitask_sweep`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.multitask_sweep import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
