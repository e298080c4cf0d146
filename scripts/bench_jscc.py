"""Benchmark DeepJSCC against the separation reference: the same command as ``vlmsc bench jscc``."""

from __future__ import annotations

import sys

from vlm_privsc.jscc.cli import run_command


def main(argv: list[str] | None = None) -> int:
    return run_command("bench", argv)


if __name__ == "__main__":
    sys.exit(main())
