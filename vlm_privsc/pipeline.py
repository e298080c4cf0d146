"""The whole privacy pipeline on one photo, with the eavesdropper and identity leakage.

::

    photo -> PrivacyGuard -> masked (private pixels replaced) -> resize to max_side
       -> mask-aware JSCC encoder -> symbols z ----+--> channel(Bob, snr)  -> decoder -> Bob's inpainter  -> restored
       -> text embedding of each removed region -> |    (prompt from the shared DB)
          (keyed rotation by the DB digest)        +--> channel(Eve, eve_snr) -> decoder -> Eve's inpainter -> leaked
                                                        (no DB: her own label guesses)
       side information: a digital header (``semantics.header``): the mask in clear (the
       symbols of latent blocks wholly inside it are not sent; both decoders read it and
       fill them in, see ``DeepJSCC.encode``), regions, categories and attributes sealed
       with AES-GCM under the shared key; bits counted
       IdentityMatcher(original, restored) and (original, leaked) -> identity leakage

Eve is the Kerckhoffs eavesdropper: she knows the code, the default database, the public
decoder and generators and hears her channel and the header, but not the key (unless
``eve_key`` leaks it to her). Every random draw is seeded from ``seed``: runs are
reproducible for a given key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from vlm_privsc.channel.base import check_snr_db
from vlm_privsc.config import PipelineConfig
from vlm_privsc.db import PrivacyDB, load_db
from vlm_privsc.guard import GuardResult, PrivacyGuard
from vlm_privsc.inpaint import INPAINTERS, TextCondition, paste_back
from vlm_privsc.io.images import to_tensor, to_uint8
from vlm_privsc.keys import SharedKey
from vlm_privsc.metrics import psnr, ssim
from vlm_privsc.semantics.attributes import describe
from vlm_privsc.semantics.header import RegionInfo, SealedHeader, build_header, region_box
from vlm_privsc.semantics.shape import shape_accuracy, shape_decisions
from vlm_privsc.semantics.transport import EavesdropperVocabulary, SemanticCodebook, SemanticDecision


@dataclass(frozen=True)
class Receiver:
    """What one receiver (Bob or Eve) got."""

    decoded: torch.Tensor = field(repr=False)
    """JSCC decoder output ``[1,3,h,w]`` (before inpainting)."""
    restored: torch.Tensor = field(repr=False)
    """After inpainting the masked regions (feathered paste-back)."""
    semantics: tuple[SemanticDecision, ...]
    snr_db: float
    generators: tuple[str, ...] = ()
    """The generator that restored each region (chosen by the category this receiver recovered)."""


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced; :func:`vlm_privsc.report.run_report` turns it into JSON."""

    source: str
    guard: GuardResult
    original: torch.Tensor = field(repr=False)
    """The original at the transmitted resolution ``[1,3,h,w]``."""
    masked: torch.Tensor = field(repr=False)
    mask: torch.Tensor = field(repr=False)
    bob: Receiver
    eve: Receiver
    true_categories: tuple[str, ...]
    channel: dict[str, Any]
    header: dict[str, int]
    metrics: dict[str, Any]
    identity: dict[str, Any]
    timings: dict[str, float]
    config: PipelineConfig
    db_digest: str
    seed: int
    attributes: tuple[dict[str, str], ...] = ()
    """The region attributes the transmitter sent (Bob's generator reads them; Eve has none)."""
    region_masks: tuple[torch.Tensor, ...] = field(default=(), repr=False)
    """Each region's mask at the transmitted resolution ``[1,1,h,w]`` (the header's mask, split)."""


def _resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    h, w = size
    if tuple(t.shape[-2:]) == (h, w):
        return t
    arr = cv2.resize(to_uint8(t), (w, h), interpolation=cv2.INTER_AREA)
    return to_tensor(arr)


def _resize_mask(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Any private pixel in a target pixel's footprint makes it private (no leak by resizing)."""
    h, w = size
    if tuple(m.shape[-2:]) == (h, w):
        return m
    f = cv2.resize(m[0, 0].numpy().astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(f > 0)[None, None]


CODEC_SNR_RANGE_DB: tuple[float, float] = (0.0, 20.0)
"""The SNRs the shipped codecs were trained on (``vlmsc train jscc`` draws them uniformly
from 0-20 dB). Their SNR-attention modules are conditioned on the channel SNR clamped to
this range: outside it they extrapolate (at 60 dB Bob lost 1.6 dB, at 1e9 dB the image)."""


def codec_snr(snr_db: float) -> float:
    """The SNR the codec is told: the channel's, clamped to :data:`CODEC_SNR_RANGE_DB`."""
    lo, hi = CODEC_SNR_RANGE_DB
    return min(max(float(snr_db), lo), hi)


def working_size(h: int, w: int, max_side: int) -> tuple[int, int]:
    s = min(1.0, max_side / max(h, w))
    return max(8, round(h * s)), max(8, round(w * s))


def scheme_from_config(cfg: Any, name: str | None = None) -> Any:
    """The transmit-time scheme ``name`` (the preset's when None; the preset's params apply
    to the preset's scheme only), checked ready to run: see ``build_transmit_scheme``.

    Built under a fixed seed: a scheme with random parameters (the LBVQ codebook) is the
    same in every process, whatever ran before it.
    """
    from vlm_privsc.schemes import build_transmit_scheme

    name = name or cfg.name
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_transmit_scheme(name, **(cfg.params if name == cfg.name else {}))


class Pipeline:
    """Guard -> JSCC -> channels -> Bob / Eve -> identity leakage, built from a preset."""

    def __init__(
        self,
        config: PipelineConfig,
        db: PrivacyDB | None = None,
        rx_db: PrivacyDB | None = None,
        *,
        key: SharedKey | None = None,
        bob_key: SharedKey | None = None,
        eve_key: SharedKey | None = None,
    ) -> None:
        """``key``: the secret the transmitter shares with Bob (None: a fresh random key for
        this pipeline, known to no one else); ``bob_key``: the key Bob holds (default the
        same; another one simulates a receiver who is refused); ``eve_key``: a key leaked to
        Eve (default none: the Kerckhoffs eavesdropper knows everything but the key)."""
        self.config = config
        self.db = db if db is not None else load_db(config.guard.db)
        self.rx_db = rx_db if rx_db is not None else self.db
        self.key = key if key is not None else SharedKey.generate()
        self.bob_key = bob_key if bob_key is not None else self.key
        self.eve_key = eve_key
        self._loaded = False
        self._guards: dict[str, PrivacyGuard] = {}
        self._schemes: dict[str, Any] = {}

    # --- construction ------------------------------------------------------------
    def load(self) -> Pipeline:
        """Build every stage (models load here, once). Returns self."""
        if self._loaded:
            return self
        cfg = self.config
        t0 = time.perf_counter()
        import vlm_privsc.inpaint  # registers the inpainters (an import for its side effect)
        from vlm_privsc.channel import build_channel
        from vlm_privsc.guard.detectors import build_detector
        from vlm_privsc.guard.segmenters import build_segmenter
        from vlm_privsc.identity import MATCHERS
        from vlm_privsc.jscc import load_model, load_pretrained
        from vlm_privsc.semantics import EMBEDDERS

        if (
            cfg.guard.extra_detectors
            or cfg.guard.segmenter
            or cfg.semantic.embedder.name not in EMBEDDERS
            or cfg.inpaint.bob.name not in INPAINTERS
            or cfg.inpaint.eve.name not in INPAINTERS
        ):
            try:
                import vlm_privsc.hub  # noqa: F401  (registers the hub backends)
            except ImportError as e:  # the preset needs them: say why they are missing, never fall back
                from vlm_privsc.errors import MissingWeightsError

                raise MissingWeightsError(
                    f"preset {cfg.name!r} names hub backends, but vlm_privsc.hub cannot be imported ({e}); "
                    "install them with `pip install 'vlm-privsc[hub]'` (bash install.sh does)"
                ) from None
        self.guard = PrivacyGuard(
            self.db,
            cfg.guard.policy,
            fill=cfg.guard.fill,
            detect_max_side=cfg.guard.detect_max_side,
            extra_detectors=[build_detector(b.name, b.params) for b in cfg.guard.extra_detectors],
            segmenter=build_segmenter(cfg.guard.segmenter.name, cfg.guard.segmenter.params)
            if cfg.guard.segmenter
            else None,
        ).load()
        m = cfg.jscc.model
        self.jscc = (
            load_model(m, device=cfg.device)
            if m and m.endswith(".safetensors")
            else load_pretrained(m, device=cfg.device)
        ).eval()
        self.channel = build_channel(cfg.channel.name, **cfg.channel.params)
        self.bob_inpainter = INPAINTERS.build(cfg.inpaint.bob.name, **cfg.inpaint.bob.params)
        self.eve_inpainter = INPAINTERS.build(cfg.inpaint.eve.name, **cfg.inpaint.eve.params)
        self.matcher = MATCHERS.build(cfg.identity.matcher.name, **cfg.identity.matcher.params)
        # Eve's database: the public default one, or, for an insider, the transmitter's own
        self.eve_db = self.db if cfg.eavesdropper.insider else load_db(None)
        if cfg.semantic.enabled:
            emb = EMBEDDERS.build(cfg.semantic.embedder.name, **cfg.semantic.embedder.params)
            self.codebook = SemanticCodebook(self.db, emb, keyed=cfg.semantic.keyed)
            self.rx_codebook = (
                self.codebook if self.rx_db is self.db else SemanticCodebook(self.rx_db, emb, keyed=cfg.semantic.keyed)
            )
            self.eve_codebook = (
                self.codebook
                if self.eve_db is self.db
                else SemanticCodebook(self.eve_db, emb, keyed=cfg.semantic.keyed)
            )
            self.eve_vocab = EavesdropperVocabulary(emb, sorted(self.eve_db.categories))
        self.load_seconds = time.perf_counter() - t0
        self._loaded = True
        return self

    # --- one photo ---------------------------------------------------------------
    def guard_for(self, policy: str | None) -> PrivacyGuard:
        """The guard of ``policy`` (the preset's when None); built once per policy."""
        self.load()
        if policy is None or policy == self.guard.policy:
            return self.guard
        if policy not in self._guards:
            cfg = self.config.guard
            self._guards[policy] = PrivacyGuard(
                self.db,
                policy,
                fill=cfg.fill,
                detect_max_side=cfg.detect_max_side,
                extra_detectors=self.guard.extra_detectors,
                segmenter=self.guard.segmenter,
            ).load()
        return self._guards[policy]

    def scheme_for(self, name: str | None) -> Any:
        """The privacy scheme ``name`` (the preset's when None), built once. Only
        transmit-time schemes act on a trained image codec; training-time ones (ibal,
        minmax) need their own training loops (scripts/repro_*.py)."""
        cfg = self.config.scheme
        name = name or cfg.name
        if name not in self._schemes:
            self._schemes[name] = scheme_from_config(cfg, name)
        return self._schemes[name]

    def protect(self, image: torch.Tensor, seed: int = 0, policy: str | None = None) -> GuardResult:
        """Only the guard (reusable across channel settings with ``run(guard_result=...)``)."""
        return self.guard_for(policy).run(image, torch.Generator().manual_seed(seed * 1000))

    @torch.no_grad()
    def run(
        self,
        image: torch.Tensor,
        source: str = "<tensor>",
        seed: int = 0,
        *,
        policy: str | None = None,
        snr_db: float | None = None,
        eve_snr_db: float | None = None,
        guard_result: GuardResult | None = None,
        identity: bool = True,
        scheme: str | None = None,
    ) -> RunResult:
        """Run the whole pipeline on ``image`` ``[1,3,H,W]``; deterministic for a seed.

        ``policy``, ``snr_db``, ``eve_snr_db``, ``scheme`` override the preset; ``guard_result`` reuses
        a :meth:`protect` result; ``identity=False`` skips the identity matcher.
        """
        self.load()
        cfg = self.config
        timings: dict[str, float] = {}
        gens = {
            k: torch.Generator().manual_seed(seed * 1000 + i)
            for i, k in enumerate(("fill", "bob", "eve", "bob_inp", "eve_inp"))
        }

        t = time.perf_counter()
        g = guard_result if guard_result is not None else self.guard_for(policy).run(image, gens["fill"])
        timings["guard"] = time.perf_counter() - t

        h, w = working_size(image.shape[-2], image.shape[-1], cfg.jscc.max_side)
        original = _resize(image, (h, w))
        masked = _resize(g.masked, (h, w))
        mask = _resize_mask(g.mask, (h, w))

        # --- transmitter: image symbols + semantic symbols + digital header ---------
        snr = check_snr_db(cfg.channel.snr_db if snr_db is None else snr_db, "snr_db")
        eve_snr = check_snr_db(cfg.channel.eve_snr_db if eve_snr_db is None else eve_snr_db, "eve_snr_db")
        t = time.perf_counter()
        code_mask = mask if (cfg.jscc.mask_aware and bool(mask.any())) else None
        z_full = self.jscc.encode(masked, codec_snr(snr), mask=code_mask)
        keep = self.jscc.symbol_keep(code_mask) if code_mask is not None else None
        z = z_full[keep][None] if keep is not None else z_full  # only the kept symbols travel
        timings["jscc_encode"] = time.perf_counter() - t
        cats = tuple(r.category for r in g.regions)
        region_masks = [_resize_mask(r.mask[None, None], (h, w)) for r in g.regions]
        attr_names = cfg.semantic.attributes if cfg.semantic.enabled else ()
        attributes = tuple(describe(original, rm, attr_names) for rm in region_masks)
        nonce = message_nonce(self.key, seed, masked)
        sem = (
            self.codebook.transmit(cats, self.codebook.rotation(self.key, nonce))
            if cfg.semantic.enabled
            else torch.zeros(0, dtype=torch.complex64)
        )
        ids = self.db.category_ids()
        sealed = build_header(
            self.key,
            nonce,
            self.db.digest(),
            mask,
            [RegionInfo(region_box(rm), ids[c], a) for rm, c, a in zip(region_masks, cats, attributes)],
            attr_names,
        )
        header = sealed.bits()
        rx_mask = sealed.mask()  # what both receivers read in clear
        rx_code_mask = rx_mask if code_mask is not None else None
        rx_keep = self.jscc.symbol_keep(rx_code_mask) if rx_code_mask is not None else None  # from the header

        # --- channels ----------------------------------------------------------------
        sch = self.scheme_for(scheme)
        key_seed = seed * 1000 + 7  # a public per-message seed (the nonce); the key is the scheme's
        tx_sch, bob_sch = sch, sch
        if getattr(sch, "key", 0) is None and hasattr(sch, "with_key"):  # keyed by the shared secret
            tx_sch, bob_sch = sch.with_key(self.key), sch.with_key(self.bob_key)
        sent = tx_sch.apply(z, torch.Generator().manual_seed(key_seed))
        t = time.perf_counter()
        zb = bob_sch.invert(self.channel(sent, snr, gens["bob"]), torch.Generator().manual_seed(key_seed))
        ze = sch.eavesdrop(self.channel(sent, eve_snr, gens["eve"]))
        sb = self.channel(sem[None], snr, gens["bob"])[0] if sem.numel() else sem
        se = self.channel(sem[None], eve_snr, gens["eve"])[0] if sem.numel() else sem
        timings["channel"] = time.perf_counter() - t

        # --- receivers -----------------------------------------------------------------
        t = time.perf_counter()
        xb = self.jscc.decode(_unpack(zb, rx_keep), codec_snr(snr), size=(h, w), mask=rx_code_mask).clamp(0, 1)
        xe = self.jscc.decode(_unpack(ze, rx_keep), codec_snr(eve_snr), size=(h, w), mask=rx_code_mask).clamp(0, 1)
        timings["jscc_decode"] = time.perf_counter() - t
        # Bob opens the sealed header with his key and database (refused: one clear error)
        bob_regions = sealed.open(self.bob_key, self.rx_db.digest(), attr_names)
        bob_masks = [rx_mask & _box_mask(r.box, (h, w)) for r in bob_regions]
        n = len(bob_regions)
        bob_sem = (
            tuple(self.rx_codebook.receive(sb, n, self.rx_codebook.rotation(self.bob_key, nonce)))
            if cfg.semantic.enabled
            else ()
        )
        # Eve: the clear part (mask, nonce, symbol counts), her channel, the public default
        # database and generators; the sealed part only with a leaked key
        eve_regions = _try_open(sealed, self.eve_key, self.eve_db.digest(), attr_names)
        if eve_regions is not None:
            eve_masks = [rx_mask & _box_mask(r.box, (h, w)) for r in eve_regions]
            eve_attrs: tuple[dict[str, str], ...] | None = tuple(r.attributes for r in eve_regions)
        else:
            eve_masks, eve_attrs = _components(rx_mask), None
        n_sem = int(sem.numel()) // self.codebook.symbols_per_region() if cfg.semantic.enabled else 0
        if not cfg.semantic.enabled:
            eve_sem: tuple[SemanticDecision, ...] = ()
        elif self.eve_key is not None:
            eve_sem = tuple(self.eve_codebook.receive(se, n_sem, self.eve_codebook.rotation(self.eve_key, nonce)))
        else:
            eve_sem = tuple(self.eve_vocab.receive(se, n_sem))
        eve_text_sem = eve_sem  # what the text channel gave her, measured as eve_category_ok
        if eve_regions is None and cfg.eavesdropper.category_from == "shape":
            eve_sem = shape_decisions([m[0, 0].numpy() for m in eve_masks], eve_text_sem, self.eve_db.categories)

        t = time.perf_counter()
        bob, bob_gens = self.restore(
            xb,
            rx_mask,
            bob_masks,
            bob_sem,
            self.bob_inpainter,
            gens["bob_inp"],
            tuple(r.attributes for r in bob_regions),
        )
        timings["inpaint_bob"] = time.perf_counter() - t
        t = time.perf_counter()
        eve, eve_gens = self.restore(xe, rx_mask, eve_masks, eve_sem, self.eve_inpainter, gens["eve_inp"], eve_attrs)
        timings["inpaint_eve"] = time.perf_counter() - t

        # --- evaluation ----------------------------------------------------------------
        t = time.perf_counter()
        idb, ide = (
            self.matcher.compare_many(to_uint8(original), [to_uint8(bob), to_uint8(eve)]) if identity else (None, None)
        )
        timings["identity"] = time.perf_counter() - t
        public = ~mask
        metrics = {
            "psnr_received": psnr(original, bob),
            "ssim_received": ssim(original, bob),
            "psnr_received_nonprivate": psnr(original, bob, public),
            "psnr_eavesdropper": psnr(original, xe if n == 0 else eve),
            "ssim_eavesdropper": ssim(original, eve),
            "identity_similarity_received": idb.similarity if idb else None,
            "identity_similarity_eavesdropper": ide.similarity if ide else None,
            "identity_threshold": float(self.matcher.threshold),
            "identity_leak": ide.same_identity if ide else None,
            "identity_leak_received": idb.same_identity if idb else None,
            "bob_category_ok": _share_ok(cats, bob_sem),
            "eve_category_ok": _share_ok(cats, eve_text_sem),
            "eve_category_from_shape_ok": shape_accuracy(
                cats,
                [m[0, 0].numpy() for m in region_masks],
                [m[0, 0].numpy() for m in _components(rx_mask)],
                self.eve_db.categories,
            ),
        }
        k = int(sent.shape[-1])
        channel = {
            "scheme": sch.name,
            "type": cfg.channel.name,
            "params": dict(cfg.channel.params),
            "snr_db": snr,
            "eve_snr_db": eve_snr,
            "image_symbols": k,
            "image_symbols_unmasked": int(z_full.shape[-1]),
            "semantic_symbols": int(sem.numel()),
            "semantic_symbols_per_region": self.codebook.symbols_per_region() if cfg.semantic.enabled else 0,
            "header_bits": header["total"],
            "key_fingerprint": self.key.fingerprint(),
            "demo_key": self.key.demo,
            "eve_holds_key": self.eve_key is not None,
            "eve_insider": cfg.eavesdropper.insider,
            "header_symbols_qpsk": (header["total"] + 1) // 2,
            "total_symbols": k + int(sem.numel()) + (header["total"] + 1) // 2,
            "bandwidth_ratio_image": k / (3 * h * w),
            "bandwidth_ratio_total": (k + int(sem.numel()) + (header["total"] + 1) // 2) / (3 * h * w),
            "transmitted_size": [w, h],
            "original_size": [int(image.shape[-1]), int(image.shape[-2])],
            "jscc_model": cfg.jscc.model or "default",
        }
        return RunResult(
            source=source,
            guard=g,
            original=original,
            masked=masked,
            mask=mask,
            bob=Receiver(xb, bob, bob_sem, snr, bob_gens),
            eve=Receiver(xe, eve, eve_sem, eve_snr, eve_gens),
            true_categories=cats,
            channel=channel,
            header=header,
            metrics=metrics,
            identity={"received": idb.to_dict() if idb else None, "eavesdropper": ide.to_dict() if ide else None},
            timings=timings,
            config=cfg,
            db_digest=self.db.digest(),
            seed=seed,
            attributes=attributes,
            region_masks=tuple(region_masks),
        )

    def restore(
        self,
        decoded: torch.Tensor,
        mask: torch.Tensor,
        region_masks: list[torch.Tensor],
        decisions: tuple[SemanticDecision, ...],
        inpainter: Any,
        gen: torch.Generator,
        attributes: tuple[dict[str, str], ...] | None,
    ) -> tuple[torch.Tensor, tuple[str, ...]]:
        """Inpaint the regions one at a time, each with the condition this receiver recovered
        for it. Bob (``attributes`` given): the database prompt, the recovered category and
        the region attributes. Eve (``attributes=None``): her noisy vector and her own
        category guess, no prompt and no attributes. Returns the restoration and the
        generator used for each region."""
        if not bool(mask.any()):
            return decoded, ()
        out, used = decoded, []
        for i, rm in enumerate(region_masks):
            d = decisions[i] if i < len(decisions) else None
            cond = TextCondition(
                prompt=d.prompt if (d is not None and attributes is not None) else None,
                embedding=d.embedding if d is not None else None,
                category=d.category if d is not None else None,
                attributes=attributes[i] if attributes is not None and i < len(attributes) else {},
            )
            generated = inpainter.inpaint(out, rm, cond, gen)
            out = paste_back(out, generated, rm, self.config.inpaint.dilate_px)
            route = getattr(inpainter, "backend_for", None)
            used.append(route(cond.category) if route else inpainter.name)
        return out, tuple(used)


def message_nonce(key: SharedKey, seed: int, masked: torch.Tensor) -> bytes:
    """The message's 96-bit nonce: HKDF of the key over the seed and the transmitted image,
    so a run is reproducible for a seed while two different messages never share a nonce
    (a synthetic IV: equal messages with equal seeds give equal headers, nothing more)."""
    import hashlib

    from vlm_privsc.keys import NONCE_BYTES, subkey

    digest = hashlib.sha256(to_uint8(masked).tobytes()).digest()
    return subkey(key, "nonce", int(seed).to_bytes(8, "big", signed=True) + digest, NONCE_BYTES)


def _box_mask(box: tuple[int, int, int, int], size: tuple[int, int]) -> torch.Tensor:
    m = torch.zeros(1, 1, *size, dtype=torch.bool)
    x0, y0, x1, y1 = box
    m[..., y0:y1, x0:x1] = True
    return m


def _components(mask: torch.Tensor) -> list[torch.Tensor]:
    """The connected parts of a mask, top-left first: Eve's regions when the header is sealed."""
    n, labels = cv2.connectedComponents(mask[0, 0].numpy().astype(np.uint8), connectivity=8)
    return [torch.from_numpy(labels == i)[None, None] for i in range(1, n)]


def _try_open(
    sealed: SealedHeader, key: SharedKey | None, digest: str, names: tuple[str, ...]
) -> list[RegionInfo] | None:
    from vlm_privsc.keys import KeyError_

    if key is None:
        return None
    try:
        return sealed.open(key, digest, names)
    except KeyError_:
        return None


def _unpack(y: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Received kept symbols ``[1, k_kept]`` back into the full ``[1, k]`` layout (zeros elsewhere;
    the decoder fills those from the mask it reads in the header)."""
    if keep is None:
        return y
    full = torch.zeros(keep.shape, dtype=y.dtype, device=y.device)
    full[keep] = y.reshape(-1)
    return full


def _share_ok(truth: tuple[str, ...], got: tuple[SemanticDecision, ...]) -> float | None:
    if not truth or not got:
        return None
    return sum(a == b.category for a, b in zip(truth, got)) / len(truth)
