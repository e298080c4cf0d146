"""Export a ``vlmsc train jscc`` checkpoint (``OUT/NAME/checkpoint``) as a weights file with the: :mod:`vlm_privsc.jscc.export`."""

from vlm_privsc.errors import run_main
from vlm_privsc.jscc.export import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
