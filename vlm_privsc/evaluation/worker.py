"""One worker of ``vlmsc eval``: a loaded pipeline that turns one photo's cells into rows.

Per photo the original's faces are found once (identity matcher) and embedded; per
policy the guard runs once; per channel setting the pipeline transmits and both
receivers restore, and :class:`~vlm_privsc.evaluation.rows.EvalRow` is built from the
run's :class:`~vlm_privsc.measure.Metrics`. Identity leakage is measured aligned on the
original's faces (a reconstruction whose face no detector finds can still leak). Every
engine (:mod:`vlm_privsc.evaluation.engines`) runs this same worker.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from vlm_privsc.config import PipelineConfig
from vlm_privsc.db import BASELINE_POLICY
from vlm_privsc.evaluation.dataset import FaceItem
from vlm_privsc.evaluation.labels import Box, boxes_for
from vlm_privsc.evaluation.rows import EvalGrid, EvalRow, cell_key


class PhotoWorker:
    """Holds a loaded pipeline and the Re-ID gallery; evaluates one photo's cells."""

    def __init__(
        self, config: dict[str, Any], gallery: dict[str, Any], threads: int, labels: dict[str, list[Box]] | None = None
    ) -> None:
        import torch

        from vlm_privsc.keys import KEY_ENV, load_key
        from vlm_privsc.pipeline import Pipeline

        torch.set_num_threads(max(1, threads))
        # the shared key: $VLMSC_KEY (vlmsc eval --key) or a fresh random one known to no one
        key = load_key() if os.environ.get(KEY_ENV) else None
        self.pipe = Pipeline(PipelineConfig.model_validate(config), key=key).load()
        self.gallery = gallery
        self.labels = labels

    def evaluate(self, item: FaceItem, index: int, grid: EvalGrid, todo: set[str]) -> list[dict[str, Any]]:
        from vlm_privsc.io.images import load_image, to_uint8
        from vlm_privsc.measure import covered, covered_share, psnr
        from vlm_privsc.pipeline import _resize, _resize_mask, working_size

        pipe, m = self.pipe, self.pipe.matcher
        img = load_image(item.path).tensor
        seed = grid.seed + index
        h, w = working_size(img.shape[-2], img.shape[-1], pipe.config.jscc.max_side)
        original = m.reference(to_uint8(_resize(img, (h, w))))  # faces found and embedded once per photo
        faces = list(original.faces)
        rows: list[dict[str, Any]] = []
        # Bob's restoration without the guard, per channel setting: the reference for the
        # non-private PSNR of the guarded runs, on exactly their non-private pixels
        unguarded: dict[tuple[str, float, float], Any] = {}

        def unguarded_bob(scheme: str, b: float, e: float) -> Any:
            if (scheme, b, e) not in unguarded:  # not evaluated in this call (e.g. a resumed run): recompute
                unguarded[(scheme, b, e)] = pipe.run(
                    img, item.key, seed, policy=BASELINE_POLICY, snr_db=b, eve_snr_db=e, identity=False, scheme=scheme
                ).bob.restored
            return unguarded[(scheme, b, e)]

        for policy in grid.policies:
            cells = [
                (s, b, e)
                for (p, s, b, e) in grid.cells()
                if p == policy and cell_key(item.key, p, s, grid.channel, b, e, seed) in todo
            ]
            if not cells:
                continue
            g = pipe.protect(img, seed, policy)
            mask = _resize_mask(g.mask, (h, w))[0, 0].numpy()
            face_cover = covered_share(mask, [f.box for f in faces])
            ref = boxes_for(self.labels, item.key) if self.labels is not None else None
            ref_cov = covered(mask, ref, (w / img.shape[-1], h / img.shape[-2])) if ref is not None else None
            for scheme, bob_snr, eve_snr in cells:
                t0 = time.perf_counter()
                r = pipe.run(
                    img,
                    item.key,
                    seed,
                    policy=policy,
                    snr_db=bob_snr,
                    eve_snr_db=eve_snr,
                    guard_result=g,
                    identity_reference=original,
                    scheme=scheme,
                )
                reid = tuple(
                    self._reid(item, m.embed(to_uint8(rec.restored), faces[0])) if faces else None
                    for rec in (r.eve, r.bob)
                )
                if policy == BASELINE_POLICY:
                    unguarded[(scheme, bob_snr, eve_snr)] = r.bob.restored
                ref_bob = unguarded_bob(scheme, bob_snr, eve_snr) if BASELINE_POLICY in grid.policies else None
                row = EvalRow.from_run(
                    r,
                    identity=item.identity,
                    channel=grid.channel,
                    n_faces=len(faces),
                    guard_face_coverage=face_cover,
                    labels=ref_cov,
                    reid=(reid[0], reid[1]),
                    bob_psnr_nonprivate_none_db=None if ref_bob is None else psnr(r.original, ref_bob, ~r.mask),
                    seconds=time.perf_counter() - t0,
                )
                rows.append(row.to_csv())
        return rows

    def _reid(self, item: FaceItem, emb: np.ndarray) -> int | None:
        """Top-1 re-identification against the gallery of the OTHER originals."""
        keys, ids, embs = self.gallery["keys"], self.gallery["ids"], self.gallery["embs"]
        sel = [i for i, k in enumerate(keys) if k != item.key]
        if not sel or not any(ids[i] == item.identity for i in sel):
            return None  # this identity has no other photo in the gallery
        sims = embs[sel] @ emb
        return int(ids[sel[int(np.argmax(sims))]] == item.identity)


def build_gallery(items: list[FaceItem], config: PipelineConfig) -> dict[str, Any]:
    """Embeddings of the largest face of every original (at the transmitted size)."""
    from vlm_privsc.identity import MATCHERS
    from vlm_privsc.io.images import load_image, to_uint8
    from vlm_privsc.pipeline import _resize, working_size

    m = MATCHERS.build(config.identity.matcher.name, **config.identity.matcher.params)
    keys, ids, embs = [], [], []
    for it in items:
        img = load_image(it.path).tensor
        h, w = working_size(img.shape[-2], img.shape[-1], config.jscc.max_side)
        rgb = to_uint8(_resize(img, (h, w)))
        faces = m.faces(rgb)
        if faces:
            keys.append(it.key)
            ids.append(it.identity)
            embs.append(m.embed(rgb, faces[0]))
    return {"keys": keys, "ids": ids, "embs": np.stack(embs) if embs else np.zeros((0, m.embedding_dim))}
