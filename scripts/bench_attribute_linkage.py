"""What the region attributes alone say about who was removed (a linkage attack): :mod:`vlm_privsc.evaluation.bench.attribute_linkage`."""

from vlm_privsc.errors import run_main
from vlm_privsc.evaluation.bench.attribute_linkage import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
