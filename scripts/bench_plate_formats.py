"""Plate recall across countries' formats (synthetic plates on the plates_us cars): :mod:`vlm_privsc.evaluation.bench.plates_formats`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.plates_formats import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
