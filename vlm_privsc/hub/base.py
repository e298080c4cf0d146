"""The availability convention shared by hub backends (read by ``vlmsc models list``).

A backend class may define

- ``requires``: ``(module, pip name)`` pairs it imports at load time;
- ``default_weights``: the hub id or file it loads when params name none;
- ``needs(**params) -> str``: what it needs, in words;
- ``availability(**params) -> (bool, str)``: whether it can run on this machine now,
  and where its weights are or why it cannot, without loading anything heavy.

:class:`HubBackend` implements the last two from ``requires`` and a ``locate(**params)``
classmethod that resolves the weights (raising
:class:`~vlm_privsc.errors.MissingWeightsError` when they are missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from vlm_privsc.errors import MissingWeightsError, VlmscError
from vlm_privsc.hub.weights import ENV_WEIGHTS_DIR, download_allowed, missing_packages


class HubBackend:
    """Mixin: ``needs`` / ``availability`` from ``requires`` + ``locate``."""

    name: ClassVar[str] = "hub"
    requires: ClassVar[tuple[tuple[str, str], ...]] = ()
    default_weights: ClassVar[str] = ""

    @classmethod
    def locate(cls, **params: Any) -> Path | str:
        """Resolve the weights named by ``params`` (no heavy import, no download)."""
        raise NotImplementedError

    @classmethod
    def weights_label(cls, **params: Any) -> str:
        return cls.default_weights

    @classmethod
    def needs(cls, **params: Any) -> str:
        pkgs = ", ".join(pip for _, pip in cls.requires)
        w = cls.weights_label(**params)
        return f"{pkgs}; weights {w}" if w else pkgs

    @classmethod
    def availability(cls, **params: Any) -> tuple[bool, str]:
        miss = missing_packages(cls.requires)
        if miss:
            return False, f"pip install {' '.join(miss)}"
        try:
            where = cls.locate(**params)
        except MissingWeightsError as exc:
            if "not found locally" in str(exc):  # the long how-to line is for errors; be brief here
                return False, (
                    f"not found locally: {cls.weights_label(**params)} (looked in --weights-dir / "
                    f"{ENV_WEIGHTS_DIR} and the HF cache{'' if download_allowed() else '; downloads off'})"
                )
            msg = str(exc)
            prefix = f"{cls.name}: "
            return False, msg[len(prefix) :] if msg.startswith(prefix) else msg
        except VlmscError as exc:
            msg = str(exc)
            prefix = f"{cls.name}: "
            return False, msg[len(prefix) :] if msg.startswith(prefix) else msg
        except TypeError as exc:  # unknown params
            return False, f"invalid params: {exc}"
        if isinstance(where, str):
            return True, f"{where} (will be downloaded from the hub)"
        return True, str(where)
