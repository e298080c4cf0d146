"""Benchmark ``vlmsc eval`` on the local engine against the Ray engine, same workers: :mod:`vlm_privsc.evaluation.bench.engines`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.engines import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
