"""Reproductions of the literature's claims, each a module with ``main(argv)`` (``python scripts/<name>.py`` runs it)."""
