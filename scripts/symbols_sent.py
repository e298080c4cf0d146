"""Share of the image symbols the mask-aware codec sends, per photo, for a guard policy: :mod:`vlm_privsc.evaluation.bench.symbols`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.symbols import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
