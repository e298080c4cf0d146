"""Benchmarks of the pipeline's stages, each a module with ``main(argv)`` (``python scripts/<name>.py`` runs it)."""
