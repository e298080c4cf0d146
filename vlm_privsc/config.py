"""Pipeline presets: which backend serves each stage, the channel and its SNRs.

A preset is a YAML file in ``pipelines/`` (package data) or anywhere on disk; every
backend is named by its registry string, so a preset swaps any stage without code
changes. CLI flags override preset fields.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vlm_privsc.errors import ConfigError, UnknownNameError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Backend(_Strict):
    """A registry name and its keyword parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class GuardConfig(_Strict):
    db: str | None = None
    """A privacy database YAML merged over the default (None: the default)."""
    policy: str = "faces"
    fill: Literal["mean", "blur", "noise", "black"] = "mean"
    detect_max_side: int = Field(default=1280, ge=64)
    extra_detectors: tuple[Backend, ...] = ()
    """Prompt-driven detectors run for every category (owlv2, grounding_dino)."""
    segmenter: Backend | None = None
    """Refines boxes into masks (sam, sam_hf)."""


class CodecStageConfig(_Strict):
    model: str | None = None
    """A shipped model name (``vlmsc models list``) or a checkpoint path; None: the default."""
    max_side: int = Field(default=512, ge=32)
    """Photos are sent at most this large (the report says when a photo was resized)."""
    mask_aware: bool = True
    """Code the masked image knowing the mask: symbols wholly inside it are not sent and the
    attention modules pool over public cells (``DeepJSCC.encode``); False sends every symbol."""


class ChannelConfig(_Strict):
    name: str = "awgn"
    params: dict[str, Any] = Field(default_factory=dict)
    snr_db: float = 10.0
    eve_snr_db: float = 10.0

    @field_validator("snr_db", "eve_snr_db")
    @classmethod
    def _valid_snr(cls, v: float) -> float:
        from vlm_privsc.channel.base import SNR_RANGE_DB

        lo, hi = SNR_RANGE_DB
        if not (lo <= v <= hi):  # also false for NaN
            raise ValueError(f"SNR {v!r} dB is outside the valid range {lo:g} .. {hi:g} dB")
        return v


class SemanticConfig(_Strict):
    enabled: bool = True
    embedder: Backend = Backend(name="minilm")
    keyed: bool = True
    """Rotate the embedding by an orthogonal matrix seeded from the database digest:
    only a holder of the shared database can align it."""
    attributes: tuple[str, ...] = ()
    """Coarse attributes of each removed region sent beside its embedding for Bob's generator
    (``vlm_privsc.semantics.attributes``: tone, warmth, tint, shade_x, shade_y); one byte each in the sealed header."""

    @field_validator("attributes")
    @classmethod
    def _known_attributes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from vlm_privsc.semantics.attributes import ATTRIBUTES

        unknown = [a for a in v if a not in ATTRIBUTES]
        if unknown:
            raise ValueError(f"unknown attribute(s) {unknown}; valid: {sorted(ATTRIBUTES)}")
        return v


class InpaintConfig(_Strict):
    """The receivers' generators (``vlm_privsc.inpaint``): by default one per recovered category."""

    bob: Backend = Backend(name="generative")
    eve: Backend = Backend(name="generative")
    dilate_px: int = Field(default=4, ge=0)


class IdentityConfig(_Strict):
    matcher: Backend = Backend(name="sface")


class EavesdropperConfig(_Strict):
    """Who Eve is. By default the Kerckhoffs outsider: she has the code, the public default
    database, the presets and shipped weights, her channel and the header's clear part.
    ``insider``: she also holds the transmitter's own database (a colleague, a leaked or
    guessed custom file), but still not the key.
    ``category_from``: how she picks each region's category, and so her generator, when she
    cannot open the header: ``"shape"`` (default, the strongest Eve) reads it from the shape
    of the clear mask's region (:mod:`vlm_privsc.semantics.shape`), falling back to her
    text-channel guess; ``"text"`` uses only the text-channel guess (the weaker Eve of the
    results made before session 6)."""

    insider: bool = False
    category_from: Literal["shape", "text"] = "shape"


class PipelineConfig(_Strict):
    name: str = "offline-default"
    description: str = ""
    device: str = "cpu"
    guard: GuardConfig = GuardConfig()
    jscc: CodecStageConfig = CodecStageConfig()
    channel: ChannelConfig = ChannelConfig()
    semantic: SemanticConfig = SemanticConfig()
    scheme: Backend = Backend(name="none")
    """Privacy scheme on the transmitted symbols (vlm_privsc.schemes: none, dp, shuffle, ...)."""
    inpaint: InpaintConfig = InpaintConfig()
    identity: IdentityConfig = IdentityConfig()
    eavesdropper: EavesdropperConfig = EavesdropperConfig()


def preset_names() -> list[str]:
    root = resources.files("vlm_privsc.pipelines")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_preset(name_or_path: str | Path = "default") -> PipelineConfig:
    """A packaged preset by name (``default``, ``grounded-sam-sd``) or a YAML path."""
    s = str(name_or_path)
    if s.endswith((".yaml", ".yml")) or "/" in s:
        path = Path(s)
    else:
        if s not in preset_names():
            raise UnknownNameError(f"unknown pipeline preset {s!r}; valid: {', '.join(preset_names())}")
        path = Path(str(resources.files("vlm_privsc.pipelines") / f"{s}.yaml"))
    from vlm_privsc.db.loader import format_validation_error, read_yaml

    data, node = read_yaml(path, "pipeline preset", "a mapping of pipeline sections")
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, path, node)) from None


def override(cfg: PipelineConfig, updates: dict[str, dict[str, Any]]) -> PipelineConfig:
    """Apply CLI overrides ``{"channel": {"snr_db": 5}, ...}`` (None values are skipped)."""
    data = cfg.model_dump()
    for section, vals in updates.items():
        if not isinstance(data.get(section), dict) or not isinstance(vals, dict):
            sections = [k for k, v in data.items() if isinstance(v, dict)]
            raise ConfigError(f"cannot override {section!r}: sections are {', '.join(sections)}")
        for k, v in vals.items():
            if v is not None:
                data[section][k] = v
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
