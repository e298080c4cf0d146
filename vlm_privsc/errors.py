"""Errors that the CLI turns into one clear line on stderr and exit code 2.

Anything raised as a :class:`VlmscError` is a problem with the user's input or
environment (unreadable image, bad YAML field, unknown policy, missing weights),
never a bug: its message is complete on its own and needs no traceback.
"""

from __future__ import annotations


class VlmscError(Exception):
    """Base class: a user-facing error with a one-line message."""

    exit_code: int = 2


class InputError(VlmscError):
    """An input file is missing, unreadable or of an unsupported kind."""


class ConfigError(VlmscError):
    """A database, preset or option is invalid (names the file, field and problem)."""


class UnknownNameError(ConfigError):
    """A name (policy, category, backend) is not known; the message lists the valid ones."""


class MissingWeightsError(VlmscError):
    """Weights for a backend are not available locally; the message says how to provide them."""
