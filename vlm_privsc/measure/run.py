"""What one pipeline run measured: :func:`measure_run` builds its :class:`~vlm_privsc.results.Metrics`.

``vlmsc run`` (table, panel, ``report.json``) and ``vlmsc eval`` (its rows) read the same
object, so a number means the same thing wherever it is printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from vlm_privsc.measure.quality import psnr, ssim
from vlm_privsc.results import Metrics, Reception, Transmission

if TYPE_CHECKING:
    from vlm_privsc.db.schema import Category
    from vlm_privsc.identity import IdentityComparison, IdentityMatcher, IdentityReference
    from vlm_privsc.semantics.transport import SemanticDecision


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
