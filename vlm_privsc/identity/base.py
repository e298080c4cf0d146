"""Identity matchers: does a reconstruction still carry the identity of the original's faces?

The leakage question is asked of a *pixel-aligned* pair: the original photo and what a
receiver (Bob) or an eavesdropper (Eve) reconstructed from the channel. A blurred or
noisy reconstruction may defeat a face *detector* and still carry identity, so
:meth:`IdentityMatcher.compare` never relies on detecting a face in the candidate::

    original ──► detect faces (box, 5 landmarks) ─┬─► align crop ─► embed ─┐
                                                  │                        ├─► cosine ─► max over faces
    candidate ────────────────────────────────────┴─► align crop ─► embed ─┘   (worst-case leak)
        (same geometry: the original's landmarks)
    candidate ──► detect faces ─► "is a face still detectable there?" (reported, not required)

All backends put embeddings on one scale: L2-normalised vectors compared by cosine
similarity (higher = more alike), each with its documented decision threshold expressed
as a cosine similarity (see the backend's docstring for where the number comes from).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from vlm_privsc.backends import MATCHERS
from vlm_privsc.errors import InputError

__all__ = [
    "Face",
    "FaceComparison",
    "IdentityComparison",
    "IdentityMatcher",
    "MATCHERS",
    "box_iou",
    "l2_normalise",
    "similarity",
    "to_rgb_uint8",
]


#: IoU above which a face detected in the candidate counts as "the same face" as one in the original.
CANDIDATE_FACE_IOU = 0.3
#: Largest relative aspect-ratio mismatch tolerated before a candidate is resized to the original.
_ASPECT_TOLERANCE = 0.02


@dataclass(frozen=True)
class Face:
    """One detected face, in pixel coordinates of the image it was found in.

    Attributes:
        box: ``(x0, y0, x1, y1)``.
        landmarks: five ``(x, y)`` points that the backend aligns with, in its own
            convention (YuNet / MTCNN: eye, eye, nose tip, mouth corner, mouth corner, the
            image-left point of each pair first; dlib: the 5-point shape predictor's eye
            corners and nose base).
        score: the detector's confidence (its own scale).
    """

    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def landmarks_array(self) -> np.ndarray:
        """Landmarks as a float32 ``(5, 2)`` array."""
        return np.asarray(self.landmarks, dtype=np.float32).reshape(-1, 2)

    def scaled(self, factor: float) -> Face:
        """The same face in an image resized by ``factor``."""
        return Face(
            box=tuple(float(v) * factor for v in self.box),  # type: ignore[arg-type]
            landmarks=tuple((float(x) * factor, float(y) * factor) for x, y in self.landmarks),
            score=self.score,
        )


@dataclass(frozen=True)
class FaceComparison:
    """The comparison of one original face with the same region of the candidate."""

    face: Face
    similarity: float
    same_identity: bool
    face_found_in_candidate: bool


@dataclass(frozen=True)
class IdentityComparison:
    """Result of :meth:`IdentityMatcher.compare` (original vs a pixel-aligned reconstruction).

    Attributes:
        similarity: the largest cosine similarity over the original's faces (the worst-case
            leak); ``None`` when the original has no face.
        same_identity: ``similarity >= threshold``; ``None`` when the original has no face.
        threshold: the backend's decision threshold (cosine similarity).
        backend: the matcher's registry name.
        n_faces_original: faces detected in the original.
        n_faces_candidate: faces detected anywhere in the candidate.
        face_found_in_candidate: whether a candidate face overlaps (IoU >= 0.3) any of the
            original's faces: a detector would still find a face there.
        per_face: one :class:`FaceComparison` per original face, largest face first.
        candidate_resized: the candidate had another size and was resized to the original's.
    """

    similarity: float | None
    same_identity: bool | None
    threshold: float
    backend: str
    n_faces_original: int
    n_faces_candidate: int
    face_found_in_candidate: bool
    per_face: tuple[FaceComparison, ...] = field(default_factory=tuple)
    candidate_resized: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (per-face similarities and boxes included)."""
        return {
            "backend": self.backend,
            "similarity": self.similarity,
            "same_identity": self.same_identity,
            "threshold": self.threshold,
            "n_faces_original": self.n_faces_original,
            "n_faces_candidate": self.n_faces_candidate,
            "face_found_in_candidate": self.face_found_in_candidate,
            "candidate_resized": self.candidate_resized,
            "per_face": [
                {
                    "box": [round(v, 1) for v in pf.face.box],
                    "similarity": pf.similarity,
                    "same_identity": pf.same_identity,
                    "face_found_in_candidate": pf.face_found_in_candidate,
                }
                for pf in self.per_face
            ],
        }


@dataclass(frozen=True)
class IdentityReference:
    """An original's faces and their embeddings, detected and embedded once, for comparing
    many reconstructions of it (:meth:`IdentityMatcher.compare_many`)."""

    image: np.ndarray = field(repr=False)
    """The original, RGB uint8."""
    faces: tuple[Face, ...]
    embeddings: tuple[np.ndarray, ...] = field(repr=False)


def to_rgb_uint8(image: Any) -> np.ndarray:
    """Turn an RGB image into a contiguous ``HxWx3`` uint8 array.

    Accepts uint8 or float (``[0, 1]``) numpy arrays (``HxW`` grey, ``HxWx1``, ``HxWx3``,
    ``HxWx4`` with alpha dropped), torch tensors ``[3,H,W]`` / ``[1,3,H,W]`` in ``[0, 1]``
    (the pipeline's convention) and PIL images.
    """
    if type(image).__module__.startswith("PIL."):
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    if type(image).__module__.startswith("torch"):
        t = image.detach().to("cpu").float()
        if t.ndim == 4:
            if t.shape[0] != 1:
                raise InputError(f"expected one image, got a batch of {t.shape[0]}; compare images one at a time")
            t = t[0]
        if t.ndim != 3 or t.shape[0] not in (1, 3):
            raise InputError(f"expected a [3,H,W] or [1,3,H,W] tensor, got shape {tuple(image.shape)}")
        image = t.permute(1, 2, 0).numpy()
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if np.issubdtype(arr.dtype, np.floating):
        return np.ascontiguousarray(np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8))
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        return np.ascontiguousarray(np.clip(arr, 0, 255).astype(np.uint8))
    raise InputError(f"unsupported image dtype {arr.dtype}; use uint8 or float in [0, 1]")


def l2_normalise(v: np.ndarray) -> np.ndarray:
    """``v / ||v||`` as float32 (a zero vector stays zero)."""
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else np.zeros_like(v)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings, in ``[-1, 1]`` (0 if either is zero)."""
    return float(np.dot(l2_normalise(a), l2_normalise(b)))


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _match_size(original: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, bool]:
    """Resize ``candidate`` to the original's size when only the scale differs."""
    if candidate.shape[:2] == original.shape[:2]:
        return candidate, False
    ho, wo = original.shape[:2]
    hc, wc = candidate.shape[:2]
    if abs((wo / ho) / (wc / hc) - 1.0) > _ASPECT_TOLERANCE:
        raise InputError(
            f"candidate is {wc}x{hc} but the original is {wo}x{ho}: identity comparison needs a "
            "pixel-aligned reconstruction of the same framing"
        )
    import cv2

    interp = cv2.INTER_AREA if hc > ho else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(candidate, (wo, ho), interpolation=interp)), True


class IdentityMatcher(ABC):
    """A face detector + recognizer pair that embeds faces on a common cosine scale.

    Subclasses set ``name``, ``threshold`` (cosine similarity at or above which two faces
    are the same person) and ``embedding_dim``, and implement :meth:`faces` and :meth:`embed`.
    """

    name: ClassVar[str] = "base"
    embedding_dim: ClassVar[int] = 0
    threshold: float = 0.5

    # -- backend hooks ---------------------------------------------------------------
    @abstractmethod
    def faces(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB image, largest first."""

    @abstractmethod
    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The L2-normalised identity embedding of ``face`` aligned out of ``image``.

        ``face`` may come from another, pixel-aligned image: the crop uses its landmarks
        only, whatever ``image`` shows there.
        """

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        """Whether this backend can run here, and if not, why (one line)."""
        return True, ""

    # -- shared behaviour ------------------------------------------------------------
    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        """Cosine similarity of two embeddings (higher = more alike)."""
        return similarity(a, b)

    def is_same(self, sim: float) -> bool:
        """The backend's documented decision: ``sim >= threshold``."""
        return bool(sim >= self.threshold)

    def embed_largest(self, image: Any) -> np.ndarray | None:
        """Embedding of the largest face in ``image`` (``None`` if there is no face).

        For ordinary (unaligned) verification of two different photos.
        """
        rgb = to_rgb_uint8(image)
        found = self.faces(rgb)
        return self.embed(rgb, found[0]) if found else None

    def compare(self, original: Any, candidate: Any, original_faces: list[Face] | None = None) -> IdentityComparison:
        """Identity leakage of ``candidate`` (a reconstruction) about ``original``'s faces.

        Faces are detected in the original only (or taken from ``original_faces``); both
        images are aligned with the original's landmarks and embedded, so a candidate whose
        face no detector finds still gets a similarity. With several faces the result is
        the maximum (worst-case leak) and ``per_face`` holds each value. A candidate of
        another size but the same aspect ratio is resized to the original's; another
        framing raises ``InputError``.
        """
        return self.compare_many(original, [candidate], original_faces)[0]

    def reference(self, original: Any, original_faces: list[Face] | None = None) -> IdentityReference:
        """The original's faces (detected, or ``original_faces``) and their embeddings."""
        orig = to_rgb_uint8(original)
        faces = self.faces(orig) if original_faces is None else list(original_faces)
        return IdentityReference(orig, tuple(faces), tuple(self.embed(orig, f) for f in faces))

    def compare_many(
        self,
        original: Any | IdentityReference,
        candidates: Sequence[Any],
        original_faces: list[Face] | None = None,
    ) -> list[IdentityComparison]:
        """:meth:`compare` for several reconstructions of one original (detects and embeds
        it once; an :class:`IdentityReference` is reused as it is)."""
        ref = original if isinstance(original, IdentityReference) else self.reference(original, original_faces)
        orig, faces, orig_embs = ref.image, list(ref.faces), ref.embeddings
        out: list[IdentityComparison] = []
        for candidate in candidates:
            cand, resized = _match_size(orig, to_rgb_uint8(candidate))
            cand_faces = self.faces(cand)
            per_face: list[FaceComparison] = []
            for f, eo in zip(faces, orig_embs):
                s = self.similarity(eo, self.embed(cand, f))
                found = any(box_iou(f.box, g.box) >= CANDIDATE_FACE_IOU for g in cand_faces)
                per_face.append(
                    FaceComparison(face=f, similarity=s, same_identity=self.is_same(s), face_found_in_candidate=found)
                )
            best = max((pf.similarity for pf in per_face), default=None)
            out.append(
                IdentityComparison(
                    similarity=best,
                    same_identity=None if best is None else self.is_same(best),
                    threshold=float(self.threshold),
                    backend=self.name,
                    n_faces_original=len(faces),
                    n_faces_candidate=len(cand_faces),
                    face_found_in_candidate=any(pf.face_found_in_candidate for pf in per_face),
                    per_face=tuple(per_face),
                    candidate_resized=resized,
                )
            )
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self.threshold})"


def sort_largest_first(faces: list[Face]) -> list[Face]:
    """Faces by decreasing box area (ties: higher score first), for stable ordering."""
    return sorted(faces, key=lambda f: (-round(f.area, 3), -f.score, f.box))
