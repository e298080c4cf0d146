"""DeepJSCC models: the classic one, the SNR-adaptive ADJSCC, and a text-conditioned decoder.

References
----------
- E. Bourtsoulatze, D. B. Kurka, D. Gunduz, "Deep Joint Source-Channel Coding for
  Wireless Image Transmission", IEEE TCCN 5(3), 2019 (arXiv:1809.01733).
- J. Xu, B. Ai, W. Chen, A. Yang, P. Sun, M. Rodrigues, "Wireless Image Transmission
  Using Deep Source Channel Coding With Attention Modules", IEEE TCSVT 32(4), 2022
  (ADJSCC, arXiv:2012.00533): attention-feature (AF) modules that take the SNR.
- E. Perez et al., "FiLM: Visual Reasoning with a General Conditioning Layer", AAAI 2018.

::

    x [B,3,H,W] in [0,1] --pad to x4--> -0.5
      Encoder  conv5x5/2 C1 PReLU [AF] -> conv5x5/2 C2 PReLU [AF] -> conv5x5/1 C3 PReLU [AF]
               -> conv5x5/1 C4 PReLU [AF] -> conv5x5/1 c          (latent c x H/4 x W/4)
      pairs of reals -> complex symbols z [B, k], k = c*H*W/32  ->  power_normalize (P = 1)
                                   |
                               channel(z, snr_db)   (AWGN / Rayleigh, see vlm_privsc.channel)
                                   |
      Decoder  tconv5x5/1 C4 PReLU [AF][FiLM] -> tconv5x5/1 C3 PReLU [AF][FiLM]
               -> tconv5x5/1 C2 PReLU [AF][FiLM] -> tconv5x5/2 C1 PReLU [AF][FiLM]
               -> tconv5x5/2 3 sigmoid -> crop to (H, W)

    [AF]   ADJSCC attention feature module: s = sigmoid(FC(ReLU(FC([avgpool(f), snr/20]))));  f * s
    [FiLM] text conditioning: f * (1 + gamma(t)) + beta(t), gamma/beta zero-initialised

Bandwidth ratio ``k/n = c / 96`` (``c`` latent channels; 16 -> 1/6, 8 -> 1/12).
Fully convolutional: any image size works (padded to a multiple of 4, cropped back).

``resjscc`` (this project; GDN from J. Ballé, V. Laparra, E. P. Simoncelli, "Density
Modeling of Images Using a Generalized Normalization Transformation", ICLR 2016; simplified
GDN from J. Johnston et al., "Computationally Efficient Neural Image Compression", 2019),
stride 16 for photos, widths C1..C4 = 32, 64, 128, 160 by default::

      Encoder  [conv5x5/2 C1 N AF] -> [conv5x5/2 C2 N AF] -> [conv5x5/2 C3 N res AF]
               -> [conv5x5/2 C4 N res AF] -> conv3x3 c          (latent c x H/16 x W/16)
               + linear path: 16x16 block (768 values) -> 1x1 conv -> c   (added to the latent)
      Decoder  conv3x3 C4 PReLU AF [FiLM] -> [res, conv3x3 + pixel-shuffle x2 C3 PReLU AF [FiLM]]
               -> [res, ... C2 ...] -> [... C1 ...] -> conv3x3 + pixel-shuffle x2 3 (+0.5, clamp)
               + linear path: latent -> 1x1 conv -> 768 -> 16x16 block    (added to the image)

    N: simplified GDN ``x / (beta + gamma |x|)`` (``norm="sgdn"``, the default of new models)
       or the squared GDN of the first resjscc file (``norm="gdn"``, files without the field)
    res: conv3x3 PReLU conv3x3 + skip (``res_blocks`` per scale at H/8, H/16)

The linear path (``linear_skip``, a learned block transform like SoftCast's DCT, starting as
a random projection with a zero decoder) gives the gradient a two-layer route from the pixels
to the symbols and back: without it the eight-stage codec spent its first thousand steps near
a blurred mean picture and, above lr 1e-4, stayed there (``eval/results/jscc/ab_log.jsonl``).

``k/n = c / 1536`` (256 -> 1/6, 128 -> 1/12); padded to a multiple of 16.

Mask-aware coding (this project): given the guard's private mask, the AF modules pool
over public cells only, latent blocks wholly inside the mask are not transmitted, and
the decoder (which reads the mask from the digital header) fills them by push-pull
before decoding. The public pixels then decode as well as without a guard.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vlm_privsc.channel.base import SnrLike, power_normalize
from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.pushpull import pushpull
from vlm_privsc.registry import Registry

STRIDE = 4  # total down-sampling of the classic / ADJSCC encoder
RES_STRIDE = 16  # total down-sampling of the residual GDN encoder (arch "resjscc")
ARCHS = ("deepjscc", "adjscc", "resjscc")
RES_DEFAULT_CHANNELS = (32, 64, 128, 160)
RES_DEFAULT_BLOCKS = (1, 1)
ENC_NORMS = ("gdn", "sgdn", "prelu")
RES_DEFAULT_NORM = "sgdn"  # new resjscc models; files without the field are "gdn" (the first resjscc)
DEC_NORMS = ("prelu", "isgdn")


@dataclass(frozen=True)
class JSCCConfig:
    """Architecture of a DeepJSCC-family model (stored in the weights' metadata)."""

    arch: str = "adjscc"  # "deepjscc" (classic), "adjscc" (SNR-adaptive) or "resjscc" (residual GDN)
    latent_channels: int = 16  # c: k/n = c / (6 * stride**2)
    channels: tuple[int, int, int, int] = (16, 32, 32, 32)  # resjscc: widths at H/2, H/4, H/8, H/16
    kernel_size: int = 5
    text_dim: int = 0  # > 0: FiLM-conditioned decoder on a text embedding of this size
    snr_scale_db: float = 20.0  # the SNR fed to AF modules is snr_db / snr_scale_db
    res_blocks: tuple[int, ...] = ()  # resjscc: residual blocks at H/8 and H/16 (per side)
    norm: str = "gdn"  # resjscc encoder: "gdn" (squared parameters), "sgdn" (simplified, reparametrised), "prelu"
    dec_norm: str = "prelu"  # resjscc decoder: "prelu" or "isgdn" (inverse simplified GDN, reparametrised)
    linear_skip: bool = (
        False  # resjscc: a linear patch transform (stride x stride block -> latent) beside the deep path
    )

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"JSCC arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.latent_channels <= 0 or self.latent_channels % 2:
            raise ConfigError(f"latent_channels must be a positive even number, got {self.latent_channels}")
        if len(self.channels) != 4 or min(self.channels) <= 0:
            raise ConfigError(f"channels must be 4 positive widths, got {self.channels}")
        if self.kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.text_dim < 0:
            raise ConfigError(f"text_dim must be >= 0, got {self.text_dim}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "res_blocks", tuple(int(n) for n in self.res_blocks))
        if self.arch == "resjscc" and (len(self.res_blocks) != 2 or min(self.res_blocks) < 0):
            raise ConfigError(f"resjscc needs res_blocks = 2 counts >= 0 (H/8, H/16), got {self.res_blocks}")
        if self.arch != "resjscc" and self.res_blocks:
            raise ConfigError(f"res_blocks is only for arch 'resjscc', not {self.arch!r}")
        if self.norm not in ENC_NORMS:
            raise ConfigError(f"norm must be one of {', '.join(ENC_NORMS)}, got {self.norm!r}")
        if self.dec_norm not in DEC_NORMS:
            raise ConfigError(f"dec_norm must be one of {', '.join(DEC_NORMS)}, got {self.dec_norm!r}")
        if self.arch != "resjscc" and ((self.norm, self.dec_norm) != ("gdn", "prelu") or self.linear_skip):
            raise ConfigError(f"norm / dec_norm / linear_skip are only for arch 'resjscc', not {self.arch!r}")

    @property
    def stride(self) -> int:
        """Total down-sampling of the encoder (latent cell side in pixels)."""
        return RES_STRIDE if self.arch == "resjscc" else STRIDE

    @property
    def ratio(self) -> Fraction:
        """Bandwidth ratio k/n for image sizes that are multiples of the stride."""
        return Fraction(self.latent_channels, 2 * 3 * self.stride * self.stride)

    @property
    def snr_adaptive(self) -> bool:
        return self.arch in ("adjscc", "resjscc")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        if self.arch == "resjscc":
            d["res_blocks"] = list(self.res_blocks)
        else:  # the format of the weights written before resjscc existed
            for k in ("res_blocks", "norm", "dec_norm", "linear_skip"):
                d.pop(k)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JSCCConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown JSCC config fields {sorted(unknown)}; valid: {sorted(known)}")
        return cls(
            **{**d, "channels": tuple(d.get("channels", cls.channels)), "res_blocks": tuple(d.get("res_blocks", ()))}
        )


def default_config(arch: str, latent_channels: int, **kw: Any) -> JSCCConfig:
    """The default architecture of ``arch`` with ``latent_channels`` (keywords override)."""
    if arch == "resjscc":
        kw.setdefault("channels", RES_DEFAULT_CHANNELS)
        kw.setdefault("res_blocks", RES_DEFAULT_BLOCKS)
        kw.setdefault("norm", RES_DEFAULT_NORM)
        kw.setdefault("linear_skip", True)
    return JSCCConfig(arch=arch, latent_channels=latent_channels, **kw)


def latent_channels_for_ratio(ratio: Fraction | float | str, stride: int = STRIDE) -> int:
    """Latent channels ``c`` giving bandwidth ratio ``ratio`` (``c = 6 * stride**2 * ratio``, even)."""
    from vlm_privsc.channel.base import parse_ratio

    r = parse_ratio(ratio) if not isinstance(ratio, Fraction) else ratio
    c = r * 2 * 3 * stride * stride
    if c.denominator != 1 or c.numerator % 2:
        m = 3 * stride * stride
        raise ConfigError(
            f"bandwidth ratio {r} needs {float(c):g} latent channels; choose a ratio j/{m} (e.g. 1/6, 1/12, 1/24, 1/3)"
        )
    return int(c)


def stride_of(arch: str) -> int:
    """Encoder down-sampling of an architecture name."""
    return RES_STRIDE if arch == "resjscc" else STRIDE


class _FlushDenormals:
    """Flush subnormal floats to zero on the CPU while the codec runs (then back to torch's
    default, off). Gates that saturate make subnormal activations and gradients, which the CPU
    computes far slower: the stage-2 resjscc checkpoint took 0.37 s instead of 0.16 s for a
    training step on four 128 px crops. Values below 1.2e-38 change nothing in a picture."""

    depth = 0

    def __enter__(self) -> None:
        if _FlushDenormals.depth == 0:
            torch.set_flush_denormal(True)
        _FlushDenormals.depth += 1

    def __exit__(self, *exc: object) -> None:
        _FlushDenormals.depth -= 1
        if _FlushDenormals.depth == 0:
            torch.set_flush_denormal(False)


class AFModule(nn.Module):
    """ADJSCC attention-feature module: channel-wise scaling predicted from features + SNR."""

    def __init__(self, channels: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or max(channels // 2, 8)
        self.fc1 = nn.Linear(channels + 1, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, f: Tensor, snr: Tensor, public: Tensor | None = None) -> Tensor:
        """``public``: ``[B,1,h,w]`` 0/1 weights; the context pools over those positions only."""
        if public is None:
            pooled = f.mean(dim=(2, 3))
        else:
            pooled = (f * public).sum(dim=(2, 3)) / public.sum(dim=(2, 3)).clamp_min(1)
        ctx = torch.cat([pooled, snr], dim=1)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(ctx))))
        return f * s[:, :, None, None]


def _public_weights(private: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    """0/1 weights ``[B,1,h,w]``: feature cells less than half private (all cells if none is)."""
    share = F.interpolate(private.float(), size=tuple(size), mode="area")
    w = (share < 0.5).float()
    return torch.where(w.sum(dim=(2, 3), keepdim=True) > 0, w, torch.ones_like(w))


class FiLM(nn.Module):
    """Feature-wise linear modulation from a conditioning vector (identity at init)."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, f: Tensor, cond: Tensor) -> Tensor:
        gamma, beta = self.proj(cond).chunk(2, dim=1)
        return f * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


class _Block(nn.Module):
    """conv (or transposed conv) -> PReLU -> optional AF -> optional FiLM."""

    def __init__(
        self, cin: int, cout: int, k: int, stride: int, transposed: bool, adaptive: bool, text_dim: int = 0
    ) -> None:
        super().__init__()
        pad = k // 2
        if transposed:
            self.conv: nn.Module = nn.ConvTranspose2d(cin, cout, k, stride, pad, output_padding=stride - 1)
        else:
            self.conv = nn.Conv2d(cin, cout, k, stride, pad)
        self.act = nn.PReLU(cout)
        self.af = AFModule(cout) if adaptive else None
        self.film = FiLM(text_dim, cout) if text_dim > 0 else None

    def forward(self, x: Tensor, snr: Tensor, cond: Tensor | None = None, private: Tensor | None = None) -> Tensor:
        x = self.act(self.conv(x))
        if self.af is not None:
            x = self.af(x, snr, None if private is None else _public_weights(private, x.shape[-2:]))
        if self.film is not None and cond is not None:
            x = self.film(x, cond)
        return x


class GDN(nn.Module):
    """Generalized divisive normalization (Ballé, Laparra, Simoncelli, ICLR 2016/2017).

    ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``; the inverse (IGDN, decoder)
    multiplies instead. ``beta`` and ``gamma`` are kept non-negative by squaring.
    """

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(math.sqrt(0.1) * torch.eye(channels))

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        gamma = (self.gamma * self.gamma).reshape(c, c, 1, 1)
        norm = F.conv2d(x * x, gamma.to(x.dtype), (self.beta * self.beta + 1e-6).to(x.dtype))
        norm = norm.float().clamp_min(1e-6)
        return (x.float() * (norm.sqrt() if self.inverse else norm.rsqrt())).to(x.dtype)


class _LowerBound(torch.autograd.Function):
    """``max(x, bound)`` whose gradient still passes where it would raise ``x`` back above the
    bound (Ballé's ``lower_bound``), so a parameter stuck at the bound can leave it."""

    @staticmethod
    def forward(ctx, x: Tensor, bound: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return g * ((x >= ctx.bound) | (g < 0)).to(g.dtype), None


class SimplifiedGDN(nn.Module):
    """Simplified GDN (J. Johnston et al., "Computationally Efficient Neural Image Compression",
    arXiv:1912.08771, 2019): ``y_i = x_i / (beta_i + sum_j gamma_ij |x_j|)``; the inverse
    multiplies. ``beta``, ``gamma`` use the reparametrisation of Ballé's GDN (square of a
    lower-bounded parameter minus a pedestal): ``beta >= 1e-6``, ``gamma >= 0``, and a gradient
    step moves them by amounts of the same scale whatever their value. Initialised at
    ``beta = 1``, ``gamma = 0.1 I``. Bounded by ``|x| / gamma_ii`` (GDN) and linear in ``|x|``
    (IGDN), where the squared form of :class:`GDN` divides by ``sqrt(beta)`` as ``beta -> 0``.
    """

    PEDESTAL = 2.0**-36  # reparam offset 2**-18, squared
    BETA_MIN = 1e-6

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + self.PEDESTAL))
        self.gamma = nn.Parameter(torch.sqrt(0.1 * torch.eye(channels) + self.PEDESTAL))

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        ped = self.PEDESTAL
        beta = _LowerBound.apply(self.beta, math.sqrt(self.BETA_MIN + ped)) ** 2 - ped
        gamma = (_LowerBound.apply(self.gamma, math.sqrt(ped)) ** 2 - ped).reshape(c, c, 1, 1)
        norm = F.conv2d(x.abs(), gamma.to(x.dtype), beta.to(x.dtype))
        return x * norm if self.inverse else x / norm


def _enc_norm(kind: str, channels: int) -> nn.Module:
    if kind == "gdn":
        return GDN(channels)
    if kind == "sgdn":
        return SimplifiedGDN(channels)
    return nn.PReLU(channels)


class _SnrGain(nn.Module):
    """Per-channel gains ``[B,c,1,1]`` in (0, 2) from the SNR alone, exactly 1 at init: the power
    allocation (encoder) and the linear-MMSE shrinkage (decoder) of the linear patch path, which
    SoftCast sets per coefficient from the SNR; without them the path sends every coefficient the
    same way at 0 and 20 dB and passes the noise of a 0 dB channel straight into the picture."""

    def __init__(self, channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Linear(1, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, snr: Tensor) -> Tensor:
        return (2 * torch.sigmoid(self.fc2(F.relu(self.fc1(snr)))))[:, :, None, None]


class _ResBlock(nn.Module):
    """conv3x3 -> PReLU -> conv3x3, added to the input (the second conv starts at zero)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)  # type: ignore[arg-type]  # Conv2d has a bias here

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class _ResStage(nn.Module):
    """One scale of the residual GDN codec.

    Encoder: conv5x5/2 -> GDN -> [res blocks] -> AF(snr).  Decoder: [res blocks] -> conv3x3 +
    pixel shuffle x2 (sub-pixel up-sampling) -> PReLU -> AF(snr) -> [FiLM(text)]; residual
    blocks come first there so they run at the lower resolution. The decoder uses PReLU, not
    IGDN: IGDN grows like ``x**2`` and, fed the noisy symbols of a 0 dB channel, made training
    diverge here (4,000 steps, lr 2e-4); GDN, bounded by ``|x| / sqrt(beta)``, stays stable.
    """

    def __init__(
        self, cin: int, cout: int, k: int, n_res: int, decoder: bool, text_dim: int = 0, norm: str = "gdn"
    ) -> None:
        super().__init__()
        self.decoder = decoder
        if decoder:
            self.res = nn.Sequential(*[_ResBlock(cin) for _ in range(n_res)])
            self.conv: nn.Module = nn.Sequential(nn.Conv2d(cin, 4 * cout, 3, 1, 1), nn.PixelShuffle(2))
        else:
            self.conv = nn.Conv2d(cin, cout, k, 2, k // 2)
            self.res = nn.Sequential(*[_ResBlock(cout) for _ in range(n_res)])
        if decoder:
            self.gdn: nn.Module = SimplifiedGDN(cout, inverse=True) if norm == "isgdn" else nn.PReLU(cout)
        else:
            self.gdn = _enc_norm(norm, cout)
        self.af = AFModule(cout)
        self.film = FiLM(text_dim, cout) if text_dim > 0 else None

    def forward(self, x: Tensor, snr: Tensor, cond: Tensor | None = None, private: Tensor | None = None) -> Tensor:
        if self.decoder:
            x = self.gdn(self.conv(self.res(x)))
        else:
            x = self.res(self.gdn(self.conv(x)))
        x = self.af(x, snr, None if private is None else _public_weights(private, x.shape[-2:]))
        if self.film is not None and cond is not None:
            x = self.film(x, cond)
        return x


class DeepJSCC(nn.Module):
    """DeepJSCC (Bourtsoulatze et al., 2019) and its SNR-adaptive ADJSCC variant.

    ``encode(x, snr_db)``: images ``[B,3,H,W]`` in [0,1] -> power-normalised complex
    symbols ``[B, k]``. ``decode(z, snr_db, size=(H, W), text_emb=None)``: received
    symbols -> images ``[B,3,H,W]`` in [0,1]. ``snr_db`` (number or ``[B]`` tensor) is
    used by the ADJSCC attention modules and ignored by the classic model.
    """

    def __init__(self, config: JSCCConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        if config is None:
            config = JSCCConfig(**kwargs)
        elif kwargs:
            raise TypeError("pass either a JSCCConfig or keyword fields, not both")
        self.config = config
        if config.arch == "resjscc":
            self._build_res(config)
            return
        c1, c2, c3, c4 = config.channels
        k, a, c = config.kernel_size, config.snr_adaptive, config.latent_channels
        self.enc = nn.ModuleList(
            [
                _Block(3, c1, k, 2, False, a),
                _Block(c1, c2, k, 2, False, a),
                _Block(c2, c3, k, 1, False, a),
                _Block(c3, c4, k, 1, False, a),
            ]
        )
        self.enc_out = nn.Conv2d(c4, c, k, 1, k // 2)
        t = config.text_dim
        self.dec = nn.ModuleList(
            [
                _Block(c, c4, k, 1, True, a, t),
                _Block(c4, c3, k, 1, True, a, t),
                _Block(c3, c2, k, 1, True, a, t),
                _Block(c2, c1, k, 2, True, a, t),
            ]
        )
        self.dec_out: nn.Module = nn.ConvTranspose2d(c1, 3, k, 2, k // 2, output_padding=1)

    def _build_res(self, config: JSCCConfig) -> None:
        """The residual GDN codec (arch ``resjscc``, see :func:`build_jscc`)."""
        c1, c2, c3, c4 = config.channels
        k, c, t = config.kernel_size, config.latent_channels, config.text_dim
        r8, r16 = config.res_blocks
        en, dn = config.norm, config.dec_norm
        self.enc = nn.ModuleList(
            [
                _ResStage(3, c1, k, 0, False, norm=en),
                _ResStage(c1, c2, k, 0, False, norm=en),
                _ResStage(c2, c3, k, r8, False, norm=en),
                _ResStage(c3, c4, k, r16, False, norm=en),
            ]
        )
        self.enc_out = nn.Conv2d(c4, c, 3, 1, 1)
        self.dec_in = _Block(c, c4, 3, 1, False, True, t)
        self.dec = nn.ModuleList(
            [
                _ResStage(c4, c3, k, r16, True, t, dn),
                _ResStage(c3, c2, k, r8, True, t, dn),
                _ResStage(c2, c1, k, 0, True, t, dn),
            ]
        )
        self.dec_out = nn.Sequential(nn.Conv2d(c1, 12, 3, 1, 1), nn.PixelShuffle(2))
        if config.linear_skip:
            s = RES_STRIDE
            self.enc_skip = nn.Sequential(nn.PixelUnshuffle(s), nn.Conv2d(3 * s * s, c, 1))
            self.dec_skip = nn.Sequential(nn.Conv2d(c, 3 * s * s, 1), nn.PixelShuffle(s))
            self.enc_skip_gain = _SnrGain(c)
            self.dec_skip_gain = _SnrGain(c)
        # variance-preserving init (He et al. 2015, PReLU slope 0.25), zero biases, AF gates
        # starting near 1: with PyTorch's default init the image signal fades to ~1% of the
        # latent after four stages and the constant bias pattern takes the channel's power.
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d) and not (mod.weight.abs().sum() == 0):
                nn.init.kaiming_normal_(mod.weight, a=0.25, nonlinearity="leaky_relu")
                nn.init.zeros_(mod.bias)  # type: ignore[arg-type]  # every conv here has a bias
            elif isinstance(mod, AFModule):
                nn.init.constant_(mod.fc2.bias, 3.0)
        with torch.no_grad():
            cast(nn.Conv2d, cast(nn.Sequential, self.dec_out)[0]).weight.mul_(0.05)
        if config.linear_skip:  # the linear path starts off in the decoder (like the res blocks' last conv)
            nn.init.zeros_(self.dec_skip[0].weight)  # type: ignore[arg-type]

    # --- helpers ---------------------------------------------------------------
    @property
    def text_dim(self) -> int:
        return self.config.text_dim

    @property
    def ratio(self) -> Fraction:
        return self.config.ratio

    @property
    def stride(self) -> int:
        return self.config.stride

    def padded_size(self, h: int, w: int) -> tuple[int, int]:
        s = self.config.stride
        return (math.ceil(h / s) * s, math.ceil(w / s) * s)

    def channel_uses(self, h: int, w: int) -> int:
        """Complex symbols ``k`` sent for one ``h x w`` image."""
        hp, wp = self.padded_size(h, w)
        s = self.config.stride
        return self.config.latent_channels * (hp // s) * (wp // s) // 2

    def _snr(self, snr_db: SnrLike | None, batch: int, ref: Tensor) -> Tensor:
        if snr_db is None:
            if self.config.snr_adaptive:
                raise InputError("this SNR-adaptive JSCC model needs snr_db")
            snr_db = 0.0
        s = torch.as_tensor(snr_db, dtype=ref.dtype, device=ref.device).reshape(-1, 1)
        if s.shape[0] not in (1, batch):
            raise InputError(f"snr_db must be a number or one value per image ({batch}), got {s.shape[0]} values")
        return s.expand(batch, 1) / self.config.snr_scale_db

    # --- mask-aware coding -------------------------------------------------------
    def _private(self, mask: Tensor, b: int, h: int, w: int) -> Tensor:
        """The private mask ``[B,1,hp,wp]`` (bool) padded like the image."""
        if (
            mask.dtype != torch.bool
            or mask.dim() != 4
            or mask.shape[1] != 1
            or tuple(mask.shape[-2:]) != (h, w)
            or mask.shape[0] not in (1, b)
        ):
            raise InputError(
                f"JSCC mask must be bool [B,1,{h},{w}] (True = private), got {mask.dtype} {tuple(mask.shape)}"
            )
        hp, wp = self.padded_size(h, w)
        m = mask.expand(b, 1, h, w).float()
        if (hp, wp) != (h, w):
            m = F.pad(m, (0, wp - w, 0, hp - h), mode="replicate")
        return m > 0.5

    def _received_reals(self, private: Tensor) -> Tensor:
        """Latent reals ``[B,c,hp/4,wp/4]`` that travel: all but positions whose block is wholly private
        (a complex symbol travels when either of its two reals is needed)."""
        c = self.config.latent_channels
        needed = F.avg_pool2d(private.float(), self.config.stride) < 1.0
        b, _, hl, wl = needed.shape
        sym = needed.expand(b, c, hl, wl).reshape(b, -1, 2).any(dim=-1)
        return sym.repeat_interleave(2, dim=1).reshape(b, c, hl, wl)

    def symbol_keep(self, mask: Tensor) -> Tensor:
        """Which of the ``k`` symbols of a masked image are transmitted: ``[B, k]`` bool.

        ``mask``: ``[B,1,H,W]`` bool, True = private. Symbols whose latent block lies wholly
        inside the mask are never sent (they would describe only the fill); the receiver
        knows the mask from the header and fills them in (see :meth:`decode`).
        """
        b, _, h, w = mask.shape
        return self._symbol_keep(self._private(mask, b, h, w))

    def _symbol_keep(self, private: Tensor) -> Tensor:
        return self._received_reals(private).reshape(private.shape[0], -1, 2)[..., 0]

    # --- encoder / decoder -----------------------------------------------------
    def encode(self, x: Tensor, snr_db: SnrLike | None = None, mask: Tensor | None = None) -> Tensor:
        with _FlushDenormals():
            return self._encode(x, snr_db, mask)

    def _encode(self, x: Tensor, snr_db: SnrLike | None = None, mask: Tensor | None = None) -> Tensor:
        """Images ``[B,3,H,W]`` in [0,1] -> complex symbols ``[B, k]`` with unit average power.

        ``mask`` (``[B,1,H,W]`` bool, True = private; optional) makes the code mask-aware:
        the attention modules pool over public cells only, the symbols outside
        :meth:`symbol_keep` are zero and the unit average power holds over the kept ones.
        Without it a large removed region shifts the attention context of the whole image:
        on faces_deepface at AWGN 10 dB Bob's public pixels lose 0.87 dB against the
        unguarded run, and gain 0.23 dB with it (``eval/results/leakage/README.md``).
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise InputError(f"JSCC encoder needs images [B,3,H,W], got shape {tuple(x.shape)}")
        b, _, h, w = x.shape
        private = self._private(mask, b, h, w) if mask is not None else None
        hp, wp = self.padded_size(h, w)
        if (hp, wp) != (h, w):
            x = F.pad(x, (0, wp - w, 0, hp - h), mode="replicate")
        snr = self._snr(snr_db, b, x)
        f = x - 0.5
        x0 = f
        for blk in self.enc:
            f = blk(f, snr, private=private)
        f = self.enc_out(f)
        if getattr(self, "enc_skip", None) is not None:
            f = f + self.enc_skip(x0) * self.enc_skip_gain(snr)
        if f.dtype != torch.float32:
            f = f.float()
        z = torch.view_as_complex(f.reshape(b, -1, 2).float().contiguous())
        return power_normalize(z, active=None if private is None else self._symbol_keep(private))

    def decode(
        self,
        z: Tensor,
        snr_db: SnrLike | None = None,
        size: tuple[int, int] | None = None,
        text_emb: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> Tensor:
        with _FlushDenormals():
            return self._decode(z, snr_db, size, text_emb, mask)

    def _decode(
        self,
        z: Tensor,
        snr_db: SnrLike | None = None,
        size: tuple[int, int] | None = None,
        text_emb: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> Tensor:
        """Received symbols ``[B, k]`` (complex) -> images ``[B,3,H,W]`` in [0,1].

        ``size``: the original ``(H, W)``; ``None`` assumes a square image.
        ``text_emb``: ``[B, text_dim]`` or ``[text_dim]``, only for text-conditioned models
        (``model.text_dim > 0``); ``None`` there means "no text" (FiLM off).
        ``mask``: the private mask the encoder was given (mask-aware code): the symbols that
        were not sent are filled by push-pull from the received latent, and the attention
        modules pool over public cells, as at the encoder.
        """
        if not torch.is_complex(z) or z.dim() != 2:
            raise InputError(f"JSCC decoder needs complex symbols [B, k], got {z.dtype} {tuple(z.shape)}")
        b, k = z.shape
        c = self.config.latent_channels
        if size is None:
            side = math.isqrt(2 * k // c) * self.config.stride
            if self.channel_uses(side, side) != k:
                raise InputError(f"cannot infer the image size from {k} symbols; pass size=(H, W)")
            size = (side, side)
        h, w = int(size[0]), int(size[1])
        hp, wp = self.padded_size(h, w)
        if self.channel_uses(h, w) != k:
            raise InputError(
                f"{k} symbols do not match a {h}x{w} image for this model (expected {self.channel_uses(h, w)})"
            )
        cond = None
        if text_emb is not None:
            if self.config.text_dim == 0:
                raise InputError("this JSCC model has no text conditioning (text_dim=0); pass text_emb=None")
            cond = text_emb.to(device=z.device, dtype=torch.float32)
            if cond.dim() == 1:
                cond = cond.unsqueeze(0)
            if cond.shape[-1] != self.config.text_dim or cond.shape[0] not in (1, b):
                raise InputError(
                    f"text_emb must be [B, {self.config.text_dim}] or [{self.config.text_dim}], got {tuple(text_emb.shape)}"
                )
            cond = cond.expand(b, -1)
        st = self.config.stride
        f = torch.view_as_real(z.to(torch.complex64)).reshape(b, c, hp // st, wp // st)
        private = None
        if mask is not None:
            private = self._private(mask.to(z.device), b, h, w)
            f = pushpull(f, ~self._received_reals(private))
        snr = self._snr(snr_db, b, f)
        if self.config.arch == "resjscc":
            f0 = f
            f = self.dec_in(f, snr, cond, private)
            for blk in self.dec:
                f = blk(f, snr, cond, private)
            x = self.dec_out(f).float() + 0.5
            if getattr(self, "dec_skip", None) is not None:
                x = x + self.dec_skip(f0 * self.dec_skip_gain(snr)).float()
            # unclamped while training (MSE keeps its gradient), clamped to [0,1] otherwise
            x = x if self.training else x.clamp(0.0, 1.0)
        else:
            for blk in self.dec:
                f = blk(f, snr, cond, private)
            x = torch.sigmoid(self.dec_out(f))
        return x[:, :, :h, :w]

    def forward(
        self,
        x: Tensor,
        channel: nn.Module,
        snr_db: SnrLike,
        generator: torch.Generator | None = None,
        text_emb: Tensor | None = None,
    ) -> Tensor:
        """End to end: ``decode(channel(encode(x)))``, for training and evaluation."""
        z = self.encode(x, snr_db)
        y = channel(z, snr_db, generator)
        return self.decode(y, snr_db, size=(x.shape[2], x.shape[3]), text_emb=text_emb)


DeepJSCC.encode.__doc__ = DeepJSCC._encode.__doc__
DeepJSCC.decode.__doc__ = DeepJSCC._decode.__doc__


def with_text_conditioning(model: DeepJSCC, text_dim: int) -> DeepJSCC:
    """A copy of ``model`` whose decoder takes a ``text_dim`` text embedding through FiLM.

    All weights are copied and the FiLM layers start as the identity, so the copy
    decodes exactly like ``model`` until it is fine-tuned on (image, text) pairs.
    """
    from dataclasses import replace

    if text_dim <= 0:
        raise ConfigError(f"text_dim must be positive, got {text_dim}")
    new = DeepJSCC(replace(model.config, text_dim=int(text_dim)))
    missing, unexpected = new.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(".film." not in k for k in missing):
        raise ConfigError(f"cannot add text conditioning: missing {missing[:3]}, unexpected {unexpected[:3]}")
    p = next(model.parameters())
    return new.to(device=p.device).train(model.training)


JSCC_MODELS: Registry[DeepJSCC] = Registry("jscc model")


@JSCC_MODELS.register("deepjscc")
def _deepjscc(**kw: Any) -> DeepJSCC:
    return DeepJSCC(JSCCConfig(arch="deepjscc", **kw))


@JSCC_MODELS.register("adjscc")
def _adjscc(**kw: Any) -> DeepJSCC:
    return DeepJSCC(JSCCConfig(arch="adjscc", **kw))


@JSCC_MODELS.register("resjscc")
def _resjscc(**kw: Any) -> DeepJSCC:
    return DeepJSCC(default_config("resjscc", kw.pop("latent_channels", 256), **kw))


def build_jscc(name: str = "adjscc", **kw: Any) -> DeepJSCC:
    """Build an (untrained) model by architecture name: ``deepjscc``, ``adjscc`` or ``resjscc``."""
    return JSCC_MODELS.build(name, **kw)
