"""``python -m vlm_privsc`` is the same as ``vlmsc``."""

import sys

from vlm_privsc.cli import main

sys.exit(main())
