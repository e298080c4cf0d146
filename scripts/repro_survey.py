"""Reproduction (a): CIFAR-10 task accuracy and model-inversion PSNR vs test SNR for the survey's schemes: :mod:`vlm_privsc.evaluation.repro.survey`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.survey import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
