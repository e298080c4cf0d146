"""What one pipeline run measured: :class:`Metrics`, built by :func:`measure_run`.

``vlmsc run`` (table, panel, ``report.json``) and ``vlmsc eval`` (its rows) read the same
object, so a number means the same thing wherever it is printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vlm_privsc.measure.quality import psnr, ssim

if TYPE_CHECKING:
    from vlm_privsc.db.schema import Category
    from vlm_privsc.identity import IdentityComparison, IdentityMatcher, IdentityReference
    from vlm_privsc.results import Reception, Transmission
    from vlm_privsc.semantics.transport import SemanticDecision


@dataclass(frozen=True)
class Metrics:
    """Fidelity, identity leakage and semantic accuracy of one run (Bob = received, Eve = eavesdropper)."""

    psnr_received: float
    ssim_received: float
    psnr_received_nonprivate: float
    """Bob's PSNR on the pixels the guard left public (NaN when everything is private)."""
    psnr_eavesdropper: float
    ssim_eavesdropper: float
    identity_received: IdentityComparison | None
    """Bob's restoration against the original's faces (None: not measured)."""
    identity_eavesdropper: IdentityComparison | None
    identity_threshold: float
    bob_category_ok: float | None
    """Share of regions whose category Bob recovered from the text channel (None: no regions)."""
    eve_category_ok: float | None
    """The same for Eve's text channel alone."""
    eve_category_from_shape_ok: float | None
    """Share of regions whose category Eve guesses from the clear mask's shapes."""

    @property
    def identity_similarity_received(self) -> float | None:
        return self.identity_received.similarity if self.identity_received else None

    @property
    def identity_similarity_eavesdropper(self) -> float | None:
        return self.identity_eavesdropper.similarity if self.identity_eavesdropper else None

    @property
    def identity_leak(self) -> bool | None:
        """Eve's restoration matches an original face (None: no face, or not measured)."""
        return self.identity_eavesdropper.same_identity if self.identity_eavesdropper else None

    @property
    def identity_leak_received(self) -> bool | None:
        return self.identity_received.same_identity if self.identity_received else None

    def to_json(self) -> dict[str, Any]:
        """The flat ``metrics`` block of ``report.json``."""
        return {
            "psnr_received": self.psnr_received,
            "ssim_received": self.ssim_received,
            "psnr_received_nonprivate": self.psnr_received_nonprivate,
            "psnr_eavesdropper": self.psnr_eavesdropper,
            "ssim_eavesdropper": self.ssim_eavesdropper,
            "identity_similarity_received": self.identity_similarity_received,
            "identity_similarity_eavesdropper": self.identity_similarity_eavesdropper,
            "identity_threshold": self.identity_threshold,
            "identity_leak": self.identity_leak,
            "identity_leak_received": self.identity_leak_received,
            "bob_category_ok": self.bob_category_ok,
            "eve_category_ok": self.eve_category_ok,
            "eve_category_from_shape_ok": self.eve_category_from_shape_ok,
        }


def category_accuracy(truth: Sequence[str], got: Sequence[SemanticDecision]) -> float | None:
    """Share of ``truth`` that ``got`` names at the same index (None without regions or decisions)."""
    if not truth or not got:
        return None
    return sum(a == b.category for a, b in zip(truth, got)) / len(truth)


def measure_run(
    tx: Transmission,
    bob: Reception,
    eve: Reception,
    matcher: IdentityMatcher,
    eve_categories: Mapping[str, Category],
    *,
    identity: bool = True,
    reference: IdentityReference | None = None,
) -> Metrics:
    """Measure a run: PSNR/SSIM of both restorations, identity through
    :meth:`~vlm_privsc.identity.IdentityMatcher.compare_many` (``identity=False`` skips it;
    ``reference`` reuses the original's faces and embeddings across runs), the category
    accuracies. ``eve_categories``: the database Eve guesses shapes with."""
    from vlm_privsc.io.images import to_uint8
    from vlm_privsc.semantics.shape import mask_components, shape_accuracy

    idb: IdentityComparison | None = None
    ide: IdentityComparison | None = None
    if identity:
        ref = reference if reference is not None else matcher.reference(to_uint8(tx.original))
        idb, ide = matcher.compare_many(ref, [to_uint8(bob.restored), to_uint8(eve.restored)])
    clear_parts = mask_components(tx.header.mask()[0, 0].numpy())
    return Metrics(
        psnr_received=psnr(tx.original, bob.restored),
        ssim_received=ssim(tx.original, bob.restored),
        psnr_received_nonprivate=psnr(tx.original, bob.restored, ~tx.mask),
        psnr_eavesdropper=psnr(tx.original, eve.restored),
        ssim_eavesdropper=ssim(tx.original, eve.restored),
        identity_received=idb,
        identity_eavesdropper=ide,
        identity_threshold=float(matcher.threshold),
        bob_category_ok=category_accuracy(tx.categories, bob.text_semantics),
        eve_category_ok=category_accuracy(tx.categories, eve.text_semantics),
        eve_category_from_shape_ok=shape_accuracy(
            tx.categories, [m[0, 0].numpy() for m in tx.region_masks], clear_parts, eve_categories
        ),
    )
