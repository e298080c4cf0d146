"""Benchmark the privacy guard's offline detectors: how much of the labelled private: :mod:`vlm_privsc.evaluation.bench.guard`."""

from vlm_privsc.evaluation.bench.guard import main

if __name__ == "__main__":
    raise SystemExit(main())
