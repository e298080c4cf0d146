"""Claim (b): the gain of a text-conditioned DeepJSCC decoder over the same decoder without text: :mod:`vlm_privsc.evaluation.repro.text_gain`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.text_gain import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
