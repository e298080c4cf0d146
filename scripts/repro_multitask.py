"""Reproduction (b): multi-task legitimate receiver vs a trained eavesdropper over Rayleigh + AWGN: :mod:`vlm_privsc.evaluation.repro.multitask`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.multitask import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
