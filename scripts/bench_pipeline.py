"""Per-stage time and peak memory of ``vlmsc run`` on one photo (CPU): :mod:`vlm_privsc.evaluation.bench.pipeline`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.pipeline import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
