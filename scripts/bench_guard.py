"""Benchmark the privacy guard (recall, false masks, speed): :mod:`vlm_privsc.evaluation.guard_bench`.

python scripts/bench_guard.py --json eval/results/guard/results.json
"""

from vlm_privsc.evaluation.guard_bench import main

if __name__ == "__main__":
    raise SystemExit(main())
