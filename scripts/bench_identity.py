"""Benchmark the identity matchers (verification, leak controls, speed): :mod:`vlm_privsc.evaluation.identity_bench`.

python scripts/bench_identity.py --json eval/results/identity/results.json
"""

from vlm_privsc.evaluation.identity_bench import main

if __name__ == "__main__":
    raise SystemExit(main())
