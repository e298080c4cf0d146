"""The generative receiver on real photos: naturalness, privacy, the text's gain, seams: :mod:`vlm_privsc.evaluation.bench.generation`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.generation import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
