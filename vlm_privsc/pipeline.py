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
from typing import TYPE_CHECKING, Any

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
from vlm_privsc.measure import measure_run
from vlm_privsc.results import ChannelReport, Reception, Role, RunResult, Transmission
from vlm_privsc.semantics.attributes import describe
from vlm_privsc.semantics.header import RegionInfo, SealedHeader, build_header, region_box
from vlm_privsc.semantics.shape import mask_components, shape_decisions
from vlm_privsc.semantics.transport import EavesdropperVocabulary, SemanticCodebook, SemanticDecision

if TYPE_CHECKING:
    from vlm_privsc.identity import IdentityReference
    from vlm_privsc.jscc import DeepJSCC


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
        self._small_jscc: DeepJSCC | None = None
        self._guards: dict[str, PrivacyGuard] = {}
        self._schemes: dict[str, Any] = {}

    # --- construction ------------------------------------------------------------
    def codec_for(self, h: int, w: int) -> DeepJSCC:
        """The JSCC codec of an (h, w) working image: the preset's model when it names one;
        by default the photo codec, and for an image whose shorter side is below
        ``SMALL_SIDE`` the small-image default of the same ratio (loaded on first use)."""
        from vlm_privsc.jscc.weights import SMALL_SIDE, default_for_ratio, load_pretrained

        self.load()
        if self.config.jscc.model or min(h, w) >= SMALL_SIDE:
            return self.jscc
        if self._small_jscc is None:
            name = default_for_ratio(str(self.jscc.ratio), (h, w))
            self._small_jscc = load_pretrained(name, device=self.config.device).eval()
        return self._small_jscc

    def load(self) -> Pipeline:
        """Build every stage (models load here, once). Returns self."""
        if self._loaded:
            return self
        cfg = self.config
        t0 = time.perf_counter()
        from vlm_privsc.channel import build_channel
        from vlm_privsc.guard.detectors import build_detector
        from vlm_privsc.guard.segmenters import build_segmenter
        from vlm_privsc.identity import MATCHERS
        from vlm_privsc.jscc import load_model, load_pretrained
        from vlm_privsc.semantics import EMBEDDERS

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

    def _generator(self, seed: int, stream: str) -> torch.Generator:
        """The random stream ``stream`` of message ``seed`` (each stage draws from its own)."""
        return torch.Generator().manual_seed(seed * 1000 + _STREAMS.index(stream))

    @torch.no_grad()
    def transmit(
        self,
        image: torch.Tensor,
        source: str = "<tensor>",
        seed: int = 0,
        *,
        policy: str | None = None,
        snr_db: float | None = None,
        guard_result: GuardResult | None = None,
        scheme: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> Transmission:
        """The transmitter on ``image`` ``[1,3,H,W]``: guard, resize, mask-aware JSCC encoding at
        Bob's SNR (``snr_db``, the preset's when None), the keyed text embedding of each removed
        region, the sealed header and the privacy scheme. ``timings`` (if given) gets its stages."""
        self.load()
        cfg = self.config
        timings = timings if timings is not None else {}
        t = time.perf_counter()
        g = (
            guard_result
            if guard_result is not None
            else self.guard_for(policy).run(image, self._generator(seed, "fill"))
        )
        timings["guard"] = time.perf_counter() - t

        h, w = working_size(image.shape[-2], image.shape[-1], cfg.jscc.max_side)
        original = _resize(image, (h, w))
        masked = _resize(g.masked, (h, w))
        mask = _resize_mask(g.mask, (h, w))
        snr = check_snr_db(cfg.channel.snr_db if snr_db is None else snr_db, "snr_db")
        t = time.perf_counter()
        code_mask = mask if (cfg.jscc.mask_aware and bool(mask.any())) else None
        codec = self.codec_for(h, w)
        z_full = codec.encode(masked, codec_snr(snr), mask=code_mask)
        keep = codec.symbol_keep(code_mask) if code_mask is not None else None
        z = z_full[keep][None] if keep is not None else z_full  # only the kept symbols travel
        timings["jscc_encode"] = time.perf_counter() - t
        cats = tuple(r.category for r in g.regions)
        region_masks = tuple(_resize_mask(r.mask[None, None], (h, w)) for r in g.regions)
        attr_names = self._attribute_names()
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
        sch = self.scheme_for(scheme)
        tx_sch = sch.with_key(self.key) if _keyed_by_secret(sch) else sch
        sent = tx_sch.apply(z, self._scheme_generator(seed))
        return Transmission(
            source=source,
            seed=seed,
            guard=g,
            original=original,
            masked=masked,
            mask=mask,
            region_masks=region_masks,
            categories=cats,
            attributes=attributes,
            symbols=sent,
            symbols_unmasked=int(z_full.shape[-1]),
            semantic_symbols=sem,
            semantic_symbols_per_region=self.codebook.symbols_per_region() if cfg.semantic.enabled else 0,
            header=sealed,
            nonce=nonce,
            scheme=sch.name,
            snr_db=snr,
            size=(h, w),
            original_size=(int(image.shape[-2]), int(image.shape[-1])),
        )

    @torch.no_grad()
    def receive(
        self,
        tx: Transmission,
        role: Role,
        snr_db: float | None = None,
        timings: dict[str, float] | None = None,
    ) -> Reception:
        """One receiver of ``tx``: its channel at ``snr_db`` (Bob: the transmission's SNR; Eve:
        the preset's ``eve_snr_db`` when None), the JSCC decoder, the header, the text channel
        and its generators. Bob holds the key and the receiver database; Eve the public
        default database (the transmitter's as an insider), her own guesses, and the key only
        if it leaked to her. ``timings`` (if given) gets ``jscc_decode_<role>``, ``inpaint_<role>``."""
        self.load()
        cfg = self.config
        timings = timings if timings is not None else {}
        is_bob = role == "bob"
        default_snr = tx.snr_db if is_bob else cfg.channel.eve_snr_db
        snr = check_snr_db(default_snr if snr_db is None else snr_db, f"{role}_snr_db")
        h, w = tx.size
        attr_names = self._attribute_names()
        rx_mask = tx.header.mask()  # what every receiver reads in clear
        rx_code_mask = rx_mask if (cfg.jscc.mask_aware and bool(rx_mask.any())) else None
        codec = self.codec_for(h, w)  # the size travels in clear: both receivers pick the same codec
        rx_keep = codec.symbol_keep(rx_code_mask) if rx_code_mask is not None else None

        # the channel (and the privacy scheme's inverse, for whoever holds its key)
        gen = self._generator(tx.seed, role)
        sch = self.scheme_for(tx.scheme)
        t = time.perf_counter()
        y = self.channel(tx.symbols, snr, gen)
        if is_bob:
            y = (sch.with_key(self.bob_key) if _keyed_by_secret(sch) else sch).invert(
                y, self._scheme_generator(tx.seed)
            )
        else:
            y = sch.eavesdrop(y)
        sem = tx.semantic_symbols
        s_rx = self.channel(sem[None], snr, gen)[0] if sem.numel() else sem
        timings[f"channel_{role}"] = time.perf_counter() - t
        t = time.perf_counter()
        decoded = codec.decode(_unpack(y, rx_keep), codec_snr(snr), size=(h, w), mask=rx_code_mask).clamp(0, 1)
        timings[f"jscc_decode_{role}"] = time.perf_counter() - t

        # the header: Bob opens its sealed part with his key and database (refused: one clear
        # error); Eve only with a leaked key, else she sees the clear mask's connected parts
        if is_bob:
            regions: list[RegionInfo] | None = tx.header.open(self.bob_key, self.rx_db.digest(), attr_names)
        else:
            regions = _try_open(tx.header, self.eve_key, self.eve_db.digest(), attr_names)
        if regions is not None:
            masks = [rx_mask & _box_mask(r.box, (h, w)) for r in regions]
            attrs: tuple[dict[str, str], ...] | None = tuple(r.attributes for r in regions)
        else:
            masks, attrs = _components(rx_mask), None
        text_sem = self._read_text_channel(
            s_rx, role, tx.nonce, len(regions) if is_bob and regions is not None else None
        )
        acted = text_sem
        if not is_bob and regions is None and cfg.eavesdropper.category_from == "shape":
            acted = shape_decisions([m[0, 0].numpy() for m in masks], text_sem, self.eve_db.categories)

        t = time.perf_counter()
        inpainter = self.bob_inpainter if is_bob else self.eve_inpainter
        restored, used = self.restore(
            decoded, rx_mask, masks, acted, inpainter, self._generator(tx.seed, f"{role}_inp"), attrs
        )
        timings[f"inpaint_{role}"] = time.perf_counter() - t
        return Reception(
            role=role,
            snr_db=snr,
            decoded=decoded,
            restored=restored,
            semantics=acted,
            text_semantics=text_sem,
            generators=used,
            opened_header=regions is not None,
            region_masks=tuple(masks),
        )

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
        identity_reference: IdentityReference | None = None,
        scheme: str | None = None,
    ) -> RunResult:
        """:meth:`transmit`, :meth:`receive` for Bob and Eve, then
        :func:`~vlm_privsc.measure.measure_run`; deterministic for a seed.

        ``policy``, ``snr_db``, ``eve_snr_db``, ``scheme`` override the preset; ``guard_result``
        reuses a :meth:`protect` result; ``identity=False`` skips the identity matcher;
        ``identity_reference`` reuses the original's faces and embeddings (batch runs).
        """
        self.load()
        cfg = self.config
        # both SNRs are checked before anything runs
        check_snr_db(cfg.channel.snr_db if snr_db is None else snr_db, "snr_db")
        check_snr_db(cfg.channel.eve_snr_db if eve_snr_db is None else eve_snr_db, "eve_snr_db")
        timings: dict[str, float] = {}
        tx = self.transmit(
            image, source, seed, policy=policy, snr_db=snr_db, guard_result=guard_result, scheme=scheme, timings=timings
        )
        bob = self.receive(tx, "bob", timings=timings)
        eve = self.receive(tx, "eve", eve_snr_db, timings=timings)
        t = time.perf_counter()
        metrics = measure_run(
            tx, bob, eve, self.matcher, self.eve_db.categories, identity=identity, reference=identity_reference
        )
        timings["identity"] = time.perf_counter() - t
        return RunResult(
            transmission=tx,
            bob=bob,
            eve=eve,
            metrics=metrics,
            channel=self.channel_report(tx, bob, eve),
            timings=timings,
            config=cfg,
            db_digest=self.db.digest(),
        )

    def channel_report(self, tx: Transmission, bob: Reception, eve: Reception) -> ChannelReport:
        """What went over the air for ``tx`` (symbols, bits, key facts)."""
        from vlm_privsc.jscc.weights import default_for_ratio

        cfg = self.config
        (h, w), (oh, ow) = tx.size, tx.original_size
        return ChannelReport(
            scheme=tx.scheme,
            type=cfg.channel.name,
            params=dict(cfg.channel.params),
            snr_db=bob.snr_db,
            eve_snr_db=eve.snr_db,
            image_symbols=int(tx.symbols.shape[-1]),
            image_symbols_unmasked=tx.symbols_unmasked,
            semantic_symbols=int(tx.semantic_symbols.numel()),
            semantic_symbols_per_region=tx.semantic_symbols_per_region,
            header_bits=tx.header_bits["total"],
            key_fingerprint=self.key.fingerprint(),
            demo_key=self.key.demo,
            eve_holds_key=self.eve_key is not None,
            eve_insider=cfg.eavesdropper.insider,
            transmitted_size=(w, h),
            original_size=(ow, oh),
            jscc_model=cfg.jscc.model or default_for_ratio(str(self.jscc.ratio), (h, w)),
        )

    def _read_text_channel(
        self, received: torch.Tensor, role: Role, nonce: bytes, n_regions: int | None
    ) -> tuple[SemanticDecision, ...]:
        """The category (and prompt) of each region from the received text symbols: Bob and an
        Eve holding the key undo the keyed rotation with their database's codebook; Eve without
        it snaps the vectors to her public vocabulary (noise to her). ``n_regions``: how many
        the header says (Bob), else as many as the symbols hold."""
        if not self.config.semantic.enabled:
            return ()
        n = n_regions if n_regions is not None else int(received.numel()) // self.codebook.symbols_per_region()
        if role == "bob":
            return tuple(self.rx_codebook.receive(received, n, self.rx_codebook.rotation(self.bob_key, nonce)))
        if self.eve_key is not None:
            return tuple(self.eve_codebook.receive(received, n, self.eve_codebook.rotation(self.eve_key, nonce)))
        return tuple(self.eve_vocab.receive(received, n))

    def _attribute_names(self) -> tuple[str, ...]:
        return tuple(self.config.semantic.attributes) if self.config.semantic.enabled else ()

    @staticmethod
    def _scheme_generator(seed: int) -> torch.Generator:
        """The scheme's public per-message stream (like the nonce); its key is the secret."""
        return torch.Generator().manual_seed(seed * 1000 + 7)

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


_STREAMS = ("fill", "bob", "eve", "bob_inp", "eve_inp")
"""The per-message random streams, in the order of their seeds (``seed * 1000 + index``)."""


def _keyed_by_secret(scheme: Any) -> bool:
    """A scheme keyed by the shared secret (the keyed shuffle without a fixed key)."""
    return getattr(scheme, "key", 0) is None and hasattr(scheme, "with_key")


def _box_mask(box: tuple[int, int, int, int], size: tuple[int, int]) -> torch.Tensor:
    m = torch.zeros(1, 1, *size, dtype=torch.bool)
    x0, y0, x1, y1 = box
    m[..., y0:y1, x0:x1] = True
    return m


def _components(mask: torch.Tensor) -> list[torch.Tensor]:
    """The connected parts of a mask, top-left first: Eve's regions when the header is sealed."""
    return [torch.from_numpy(c)[None, None] for c in mask_components(mask[0, 0].numpy())]


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
