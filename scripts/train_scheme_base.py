"""Train the DeepJSCC baseline of the scheme reproductions to convergence (the shared warm start): :mod:`vlm_privsc.evaluation.repro.scheme_base`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.repro.scheme_base import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
