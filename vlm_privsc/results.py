"""The typed results of one pipeline run: what was sent, what each receiver got, the whole run.

::

    Pipeline.transmit(photo)              -> Transmission  (guard result, symbols, sealed header)
    Pipeline.receive(transmission, "bob") -> Reception     (channel, decoder, header, generator)
    Pipeline.receive(transmission, "eve") -> Reception
    vlm_privsc.measure.measure_run(...)   -> Metrics
    Pipeline.run(photo)                   -> RunResult     (all of the above + ChannelReport)

Frozen dataclasses with typed fields; :func:`vlm_privsc.report.run_report` turns a
:class:`RunResult` into ``report.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch

if TYPE_CHECKING:
    from vlm_privsc.config import PipelineConfig
    from vlm_privsc.guard import GuardResult
    from vlm_privsc.identity import IdentityComparison
    from vlm_privsc.semantics.header import SealedHeader
    from vlm_privsc.semantics.transport import SemanticDecision

Role = Literal["bob", "eve"]
"""The two receivers: Bob (holds the key and the database) and Eve (the Kerckhoffs eavesdropper)."""


@dataclass(frozen=True)
class Transmission:
    """What the transmitter made of one photo: everything that goes over the air, and the
    ground truth the measures compare with (never seen by a receiver)."""

    source: str
    seed: int
    guard: GuardResult
    original: torch.Tensor = field(repr=False)
    """The original at the transmitted resolution ``[1,3,h,w]`` (ground truth only)."""
    masked: torch.Tensor = field(repr=False)
    """The guarded photo at the transmitted resolution: what the JSCC encoder saw."""
    mask: torch.Tensor = field(repr=False)
    """bool ``[1,1,h,w]``: the private pixels at the transmitted resolution."""
    region_masks: tuple[torch.Tensor, ...] = field(repr=False)
    """Each region's mask ``[1,1,h,w]`` (the header's mask, split; ground truth)."""
    categories: tuple[str, ...]
    """The true category of each removed region (ground truth)."""
    attributes: tuple[dict[str, str], ...]
    """The region attributes sealed in the header (Bob's generator reads them)."""
    symbols: torch.Tensor = field(repr=False)
    """The image symbols on the air ``[1, k]`` (after the privacy scheme)."""
    symbols_unmasked: int
    """Image symbols the codec would send without the mask (its full latent)."""
    semantic_symbols: torch.Tensor = field(repr=False)
    """The text-embedding symbols (keyed rotation), empty when the text channel is off."""
    semantic_symbols_per_region: int
    header: SealedHeader = field(repr=False)
    """The digital header: the mask and nonce in clear, the regions sealed under the key."""
    nonce: bytes = field(repr=False)
    scheme: str
    """The privacy scheme applied to the image symbols."""
    snr_db: float
    """Bob's link SNR, which the SNR-adaptive encoder was told (CSI feedback)."""
    size: tuple[int, int]
    """(height, width) transmitted."""
    original_size: tuple[int, int]
    """(height, width) of the photo before resizing."""

    @property
    def header_bits(self) -> dict[str, int]:
        """Bit cost of the header by part (``total`` included)."""
        return self.header.bits()


@dataclass(frozen=True)
class Reception:
    """What one receiver (Bob or Eve) got from a :class:`Transmission`."""

    role: Role
    snr_db: float
    decoded: torch.Tensor = field(repr=False)
    """JSCC decoder output ``[1,3,h,w]`` (before inpainting)."""
    restored: torch.Tensor = field(repr=False)
    """After inpainting the masked regions (feathered paste-back)."""
    semantics: tuple[SemanticDecision, ...]
    """The condition this receiver acted on, per region."""
    text_semantics: tuple[SemanticDecision, ...] = ()
    """What the text channel alone gave (equal to ``semantics`` unless Eve guessed from shapes)."""
    generators: tuple[str, ...] = ()
    """The generator that restored each region (chosen by the category this receiver recovered)."""
    opened_header: bool = False
    """Whether this receiver opened the sealed header (holds the key and the database)."""
    region_masks: tuple[torch.Tensor, ...] = field(default=(), repr=False)
    """The regions this receiver inpainted: the header's boxes, or the mask's connected parts."""


@dataclass(frozen=True)
class ChannelReport:
    """What went over the air, in symbols and bits (``report.json``'s ``channel``)."""

    scheme: str
    type: str
    params: dict[str, Any]
    snr_db: float
    eve_snr_db: float
    image_symbols: int
    image_symbols_unmasked: int
    semantic_symbols: int
    semantic_symbols_per_region: int
    header_bits: int
    key_fingerprint: str
    demo_key: bool
    eve_holds_key: bool
    eve_insider: bool
    transmitted_size: tuple[int, int]
    """(width, height), as image tools write sizes."""
    original_size: tuple[int, int]
    """(width, height)."""
    jscc_model: str

    @property
    def header_symbols_qpsk(self) -> int:
        """The header's bits on QPSK (2 bits a symbol)."""
        return (self.header_bits + 1) // 2

    @property
    def total_symbols(self) -> int:
        return self.image_symbols + self.semantic_symbols + self.header_symbols_qpsk

    @property
    def bandwidth_ratio_image(self) -> float:
        w, h = self.transmitted_size
        return self.image_symbols / (3 * h * w)

    @property
    def bandwidth_ratio_total(self) -> float:
        w, h = self.transmitted_size
        return self.total_symbols / (3 * h * w)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["transmitted_size"], d["original_size"] = list(self.transmitted_size), list(self.original_size)
        d.update(
            header_symbols_qpsk=self.header_symbols_qpsk,
            total_symbols=self.total_symbols,
            bandwidth_ratio_image=self.bandwidth_ratio_image,
            bandwidth_ratio_total=self.bandwidth_ratio_total,
        )
        return d


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


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced."""

    transmission: Transmission
    bob: Reception
    eve: Reception
    metrics: Metrics
    channel: ChannelReport
    timings: dict[str, float]
    """Seconds per stage of this run (the guard's own are in ``transmission.guard.timings``)."""
    config: PipelineConfig
    db_digest: str

    # the transmission's ground truth, named as the report uses it
    @property
    def source(self) -> str:
        return self.transmission.source

    @property
    def seed(self) -> int:
        return self.transmission.seed

    @property
    def guard(self) -> GuardResult:
        return self.transmission.guard

    @property
    def original(self) -> torch.Tensor:
        return self.transmission.original

    @property
    def masked(self) -> torch.Tensor:
        return self.transmission.masked

    @property
    def mask(self) -> torch.Tensor:
        return self.transmission.mask
