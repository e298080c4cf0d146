"""Per-stage time and peak memory of ``vlmsc run`` on one photo (CPU): :mod:`vlm_privsc.evaluation.bench.pipeline`."""

from vlm_privsc.evaluation.bench.pipeline import main

if __name__ == "__main__":
    raise SystemExit(main())
