"""Regions the guard finds under ``policy all`` on the photos that ship with installed packages: :mod:`vlm_privsc.evaluation.bench.packaged_photos`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.packaged_photos import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
