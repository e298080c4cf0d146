"""Every backend of every stage, what it needs, and whether it can run on this machine now.

Backends report through an optional convention on their class (see
:mod:`vlm_privsc.hub.base`): ``availability(**params) -> (ok, detail)`` and
``needs(**params) -> str``. Classes without it fall back to the identity matchers'
``available() -> (ok, why)``, then to a ``requires`` list of ``(module, pip)`` pairs, and
otherwise are listed as "not checked" (they load, or fail with one clear line, on first
use). Nothing heavy is imported and nothing is loaded: the check looks for packages and
weights files only.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vlm_privsc.errors import VlmscError

#: (stage label, module that registers the stage's backends, registry attribute)
STAGES: tuple[tuple[str, str, str], ...] = (
    ("detector", "vlm_privsc.guard.detectors", "DETECTORS"),
    ("segmenter", "vlm_privsc.guard.segmenters", "SEGMENTERS"),
    ("text embedder", "vlm_privsc.semantics", "EMBEDDERS"),
    ("inpainter", "vlm_privsc.inpaint", "INPAINTERS"),
    ("identity matcher", "vlm_privsc.identity", "MATCHERS"),
)


@dataclass(frozen=True)
class BackendStatus:
    """One row of ``vlmsc models list``."""

    stage: str
    name: str
    needs: str
    available: bool | None
    """True / False, or None when the backend has no availability check."""
    detail: str
    """Where the weights are, or why the backend cannot run here."""
    used: bool = False
    """Named by the preset that was given."""

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "name": self.name,
            "needs": self.needs,
            "available": self.available,
            "detail": self.detail,
            "used_by_preset": self.used,
        }


def _doc_line(factory: Any) -> str:
    doc = (getattr(factory, "__doc__", None) or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else ""


def backend_status(
    stage: str, name: str, factory: Any, params: dict[str, Any] | None = None, used: bool = False
) -> BackendStatus:
    """The status of one registered backend (never raises)."""
    from vlm_privsc.hub.weights import missing_packages

    params = dict(params or {})
    try:
        if hasattr(factory, "needs"):
            needs = str(factory.needs(**params))
        elif hasattr(factory, "requires"):
            needs = ", ".join(pip for _, pip in factory.requires)
        else:
            needs = _doc_line(factory)
    except Exception as exc:  # a backend's own helper failing must not break the listing
        needs = f"? ({type(exc).__name__})"
    ok: bool | None
    try:
        if hasattr(factory, "availability"):
            ok, detail = factory.availability(**params)
        elif hasattr(factory, "requires"):
            miss = missing_packages(factory.requires)
            ok, detail = (not miss), (f"pip install {' '.join(miss)}" if miss else "packages installed")
        else:
            ok, detail = None, "not checked (loads on first use)"
    except Exception as exc:
        ok, detail = False, f"availability check failed: {type(exc).__name__}: {exc}"
    return BackendStatus(stage, name, needs, None if ok is None else bool(ok), str(detail), used)


def preset_params(cfg: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(stage, backend name): params}`` of the backends a pipeline preset names."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for b in cfg.guard.extra_detectors:
        out[("detector", b.name)] = dict(b.params)
    if cfg.guard.segmenter is not None:
        out[("segmenter", cfg.guard.segmenter.name)] = dict(cfg.guard.segmenter.params)
    if cfg.semantic.enabled:
        out[("text embedder", cfg.semantic.embedder.name)] = dict(cfg.semantic.embedder.params)
    out.setdefault(("inpainter", cfg.inpaint.eve.name), dict(cfg.inpaint.eve.params))
    out[("inpainter", cfg.inpaint.bob.name)] = dict(cfg.inpaint.bob.params)
    out[("identity matcher", cfg.identity.matcher.name)] = dict(cfg.identity.matcher.params)
    return out


def _jscc_rows(used: Iterable[str | None]) -> list[BackendStatus]:
    try:
        from vlm_privsc.jscc import weights as jw
    except ImportError as exc:
        return [BackendStatus("jscc", "*", "vlm_privsc.jscc", False, f"cannot import: {exc}")]
    used_set = set(used)
    rows = []
    for n in sorted(set(jw.list_pretrained()) | {jw.DEFAULT_MODEL}):
        p = jw.weights_path(n)
        how = getattr(jw, "TRAIN_COMMANDS", {}).get(n)
        detail = str(p) if p.is_file() else f"missing {p}" + (f"; train it with: {how}" if how else "")
        rows.append(
            BackendStatus(
                "jscc",
                n,
                f"file {p.name} (shipped in the package)",
                p.is_file(),
                detail,
                n in used_set or (n == jw.DEFAULT_MODEL and None in used_set),
            )
        )
    return rows


def catalog(
    params: dict[tuple[str, str], dict[str, Any]] | None = None, jscc_model: str | None = ""
) -> list[BackendStatus]:
    """Every backend of every stage (hub backends included), with its status here.

    ``params`` (e.g. from :func:`preset_params`) gives the parameters to check a backend
    with and marks it as used; ``jscc_model`` marks the preset's JSCC model (None: the
    default; "" marks none).
    """
    params = params or {}
    rows: list[BackendStatus] = []
    for stage, module, attr in STAGES:
        try:
            registry = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            rows.append(BackendStatus(stage, "*", module, False, f"cannot import {module}: {exc}"))
            continue
        for name in registry.names():
            key = (stage, name)
            try:
                factory = registry.get(name)  # a lazy entry is imported here
            except VlmscError as exc:
                rows.append(BackendStatus(stage, name, "?", False, str(exc), key in params))
                continue
            rows.append(backend_status(stage, name, factory, params.get(key), key in params))
    rows.extend(_jscc_rows([] if jscc_model == "" else [jscc_model]))
    return rows
