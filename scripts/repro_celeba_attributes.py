"""Reproduction (c): attribute inference by an eavesdropper on the 32-image CelebA sample (tiny!): :mod:`vlm_privsc.evaluation.repro.celeba`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.celeba import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
