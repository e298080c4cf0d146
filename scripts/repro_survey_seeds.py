"""The survey's schemes over training seeds with 95% intervals: :mod:`vlm_privsc.evaluation.repro.survey_seeds`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.survey_seeds import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
