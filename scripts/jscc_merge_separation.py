"""Add the separation columns of an earlier ``vlmsc bench jscc`` run to a run made with: :mod:`vlm_privsc.jscc.merge_separation`."""

from vlm_privsc.errors import run_main
from vlm_privsc.jscc.merge_separation import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
