"""Evaluation suites: several ``vlmsc eval`` runs described in one YAML file.

``vlmsc eval --suite eval/suites/leakage.yaml`` runs every entry of ``runs`` into
``<out>/<run name>/`` (``--only NAME`` picks some; each run resumes on its own). Paths may
use ``{data}``, the shared data folder (the suite's ``data``, or ``--data``); other
relative paths are taken from the current directory (the repository root for the
committed suites). A bad field is one line naming the file, line and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vlm_privsc.errors import ConfigError


class SuiteRun(BaseModel):
    """One ``vlmsc eval`` run: the same fields as the command's options."""

    model_config = ConfigDict(extra="forbid")

    faces: str
    labels: str | None = None
    policy: list[str] = Field(default_factory=lambda: ["faces"])
    scheme: list[str] = Field(default_factory=lambda: ["none"])
    snr: list[float] = Field(default_factory=lambda: [10.0], min_length=1)
    eve_snr: list[float] | None = None
    channel: str | None = None
    preset: str = "default"
    db: str | None = None
    limit: int | None = Field(None, ge=1)
    max_side: int | None = Field(None, ge=32)
    jscc_model: str | None = None
    seed: int = 0
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Preset fields to change, by section, for ablations: ``{jscc: {mask_aware: false}}``."""

    def with_data(self, data: str | Path) -> SuiteRun:
        """A copy whose ``{data}`` placeholders (faces, labels, db) name the data folder."""
        return self.model_copy(update={k: _expand(getattr(self, k), data) for k in ("faces", "labels", "db")})


class EvalSuite(BaseModel):
    """A named set of runs sharing the data folder, the output root and the worker count."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    data: str = "../shared/data"
    out: str = "out/eval"
    jobs: int = Field(1, ge=1)
    runs: dict[str, SuiteRun] = Field(min_length=1)

    def selected(self, only: Sequence[str] | None) -> dict[str, SuiteRun]:
        """The runs named in ``only`` (all when empty); an unknown name is one clear line."""
        if not only:
            return dict(self.runs)
        unknown = [n for n in only if n not in self.runs]
        if unknown:
            raise ConfigError(f"unknown suite run {unknown[0]!r}; valid: {', '.join(self.runs)}")
        return {n: self.runs[n] for n in only}


def _expand(path: str | None, data: str | Path) -> str | None:
    """``{data}`` in a suite path -> the data folder."""
    return None if path is None else path.replace("{data}", str(data))


def load_suite(path: str | Path) -> EvalSuite:
    """Parse and validate a suite YAML file."""
    from vlm_privsc.db.loader import format_validation_error, read_yaml

    p = Path(path)
    data, node = read_yaml(p, what="evaluation suite", top="a mapping with 'runs'")
    try:
        return EvalSuite.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, p, node)) from None
