"""Stable Diffusion inpainting (diffusers) as the receiver's text-conditioned generator.

Latent diffusion (Rombach et al. 2022, "High-Resolution Image Synthesis with Latent
Diffusion Models"); the inpainting checkpoints add the masked image and the mask as
extra UNet input channels. Default weights: ``stable-diffusion-v1-5/stable-diffusion-inpainting``
(any ``StableDiffusionInpaintPipeline`` / ``AutoPipelineForInpainting`` folder works,
SD 2 and SDXL inpainting included).

::

    decoded [1,3,H,W] + mask ──► square crop around each masked region (margin, >= min_crop)
        ──► resize to the model's resolution (multiple of 8) ──► SD inpainting
              (prompt_embeds from the received condition, steps, guidance, strength, seed)
        ──► resize back ──► written into the crop ──► (caller) paste_back: exact outside
                                                        the dilated mask, feathered ring

Conditioning (what :class:`~vlm_privsc.inpaint.base.TextCondition` carries):

1. ``embedding`` already shaped like the text encoder's hidden states ``[77, D]``
   (``D`` = the pipeline's text encoder width): passed as ``prompt_embeds`` directly;
2. ``prompt`` (Bob snapped the received vector to the shared database's entry), with the
   received region attributes appended (:meth:`TextCondition.text`, the same condition the
   offline generators read): encoded by the pipeline's own text encoder into
   ``prompt_embeds`` (cached per prompt);
3. neither (Eve, who has only a pooled vector and her own label guess): the
   ``fallback_prompt`` template formatted with ``{category}`` when one is given,
   otherwise the empty prompt, i.e. unconditional generation.

The negative prompt (``negative_prompt``, default empty) goes in as
``negative_prompt_embeds``. Pixels outside the crops are returned untouched.
Device: ``auto`` (CUDA if present) with float16 on CUDA and float32 on CPU; ``offload``
uses accelerate's model / sequential CPU offload instead of ``.to(device)``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import torch

from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.hub.base import HubBackend
from vlm_privsc.hub.runtime import dtype_kwarg, pick_device, pick_dtype
from vlm_privsc.hub.weights import cached, load_error, require, resolve_folder
from vlm_privsc.inpaint.base import TextCondition

Crop = tuple[int, int, int, int]

PIPELINES = {
    "auto": "AutoPipelineForInpainting",
    "sd": "StableDiffusionInpaintPipeline",
    "sdxl": "StableDiffusionXLInpaintPipeline",
}


# --- crop geometry --------------------------------------------------------------------
def _square_around(box: Crop, size: tuple[int, int], margin: float, min_side: int) -> Crop:
    """A square of side ``max(box side) * (1 + 2 margin)`` (at least ``min_side``) centred
    on ``box``, moved inside the image; clipped to the image where it does not fit."""
    h, w = size
    bx0, by0, bx1, by1 = box
    side = max(int(math.ceil(max(bx1 - bx0, by1 - by0) * (1.0 + 2.0 * margin))), int(min_side), 1)
    sw, sh = min(side, w), min(side, h)

    def place(lo: int, hi: int, length: int, limit: int) -> int:
        start = int(math.floor((lo + hi) / 2.0 - length / 2.0))
        start = max(min(start, lo), hi - length)  # contains [lo, hi)
        return max(0, min(start, limit - length))

    x0, y0 = place(bx0, bx1, sw, w), place(by0, by1, sh, h)
    return x0, y0, x0 + sw, y0 + sh


def _overlap(a: Crop, b: Crop) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def crop_boxes(mask: np.ndarray, margin: float = 0.5, min_side: int = 128, max_crops: int = 4) -> list[Crop]:
    """Crops ``(x0, y0, x1, y1)`` that together cover every True pixel of ``mask`` [H, W].

    One square crop per connected region; regions whose crops overlap share one crop
    (around their union); more than ``max_crops`` crops become one crop around everything.
    """
    m = np.asarray(mask).astype(np.uint8)
    h, w = m.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    comps = [(int(x), int(y), int(x + bw), int(y + bh)) for x, y, bw, bh, _a in stats[1:n]]
    if not comps:
        return []

    def union(group: list[Crop]) -> Crop:
        return (min(c[0] for c in group), min(c[1] for c in group), max(c[2] for c in group), max(c[3] for c in group))

    groups = [[c] for c in comps]
    while True:
        crops = [_square_around(union(g), (h, w), margin, min_side) for g in groups]
        pair = next(
            ((i, j) for i in range(len(crops)) for j in range(i + 1, len(crops)) if _overlap(crops[i], crops[j])), None
        )
        if pair is None:
            break
        i, j = pair
        groups[i] = groups[i] + groups[j]
        del groups[j]
    if len(groups) > max(1, max_crops):
        crops = [_square_around(union(comps), (h, w), margin, min_side)]
    return crops


def target_size(width: int, height: int, resolution: int, multiple: int = 8) -> tuple[int, int]:
    """``(w, h)`` with the longer side ``resolution``, the aspect kept, both multiples of ``multiple``."""
    s = resolution / max(width, height)
    tw = max(multiple, int(round(width * s / multiple)) * multiple)
    th = max(multiple, int(round(height * s / multiple)) * multiple)
    return tw, th


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 image resize: area when shrinking, bicubic when enlarging."""
    tw, th = size
    shrink = tw < a.shape[1] or th < a.shape[0]
    out = cv2.resize(a, (tw, th), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0)


# --- the inpainter --------------------------------------------------------------------
class StableDiffusionInpainter(HubBackend):
    """Stable Diffusion inpainting on crops around the mask (see the module docstring).

    Args:
        model: a local diffusers folder (``model_index.json``) or a hub id.
        pipeline: ``auto`` (AutoPipelineForInpainting) | ``sd`` | ``sdxl`` | a diffusers
            pipeline class name.
        steps: denoising steps.
        guidance_scale: classifier-free guidance (<= 1 disables it).
        strength: how much of the masked content is re-noised (1 = all).
        seed: a fixed seed for every call (None: use the generator passed to ``inpaint``;
            seed 0 when none is passed).
        resolution: the longer side of the crop as the model sees it (None: the model's
            own, ``unet.sample_size * vae_scale_factor``, 512 for SD 1.5).
        margin: context around a region's box on each side, as a fraction of its longer side.
        min_crop: crops are at least this many pixels (clipped to the image).
        max_crops: more separate regions than this are inpainted in one crop.
        negative_prompt: the negative prompt (default empty).
        fallback_prompt: prompt template used when the condition has no prompt, e.g.
            ``"a photo of {category}"``; None: unconditional (empty prompt).
        device: ``auto`` (CUDA if available) or a torch device string.
        dtype: ``auto`` (float16 on CUDA, float32 elsewhere) | float32 | float16 | bfloat16.
        variant: weights variant to load (e.g. ``fp16``), None: the default files.
        offload: ``none`` | ``model`` | ``sequential`` (accelerate CPU offload; CUDA only).
        safety_checker: keep the folder's safety checker (its flagged outputs are black;
            a warning says so); False loads without it.
        revision: hub revision to look up in the HF cache.
    """

    name = "sd"
    requires: ClassVar[tuple[tuple[str, str], ...]] = (("diffusers", "diffusers"), ("transformers", "transformers"))
    default_weights = "stable-diffusion-v1-5/stable-diffusion-inpainting"

    def __init__(
        self,
        model: str | None = None,
        *,
        pipeline: str = "auto",
        steps: int = 25,
        guidance_scale: float = 7.5,
        strength: float = 1.0,
        seed: int | None = None,
        resolution: int | None = None,
        margin: float = 0.5,
        min_crop: int = 128,
        max_crops: int = 4,
        negative_prompt: str = "",
        fallback_prompt: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        variant: str | None = None,
        offload: str = "none",
        safety_checker: bool = True,
        revision: str | None = None,
    ) -> None:
        if steps < 1:
            raise ConfigError(f"sd: steps must be >= 1, got {steps}")
        if not 0.0 < strength <= 1.0:
            raise ConfigError(f"sd: strength must be in (0, 1], got {strength}")
        if offload not in ("none", "model", "sequential"):
            raise ConfigError(f"sd: offload must be none | model | sequential, got {offload!r}")
        if resolution is not None and resolution < 8:
            raise ConfigError(f"sd: resolution must be >= 8, got {resolution}")
        self.model_id = model or self.default_weights
        self.source = self.locate(model=self.model_id, revision=revision)
        self.pipeline = pipeline
        self.steps = int(steps)
        self.guidance_scale = float(guidance_scale)
        self.strength = float(strength)
        self.seed = seed
        self.resolution = resolution
        self.margin = float(margin)
        self.min_crop = int(min_crop)
        self.max_crops = int(max_crops)
        self.negative_prompt = negative_prompt
        self.fallback_prompt = fallback_prompt
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device, self.name)
        if offload != "none" and self.device.type != "cuda":
            raise ConfigError(f"sd: offload={offload!r} needs a CUDA device (device is {self.device})")
        self.variant = variant
        self.offload = offload
        self.safety_checker = bool(safety_checker)
        self.revision = revision
        self._embeds: dict[str, tuple[torch.Tensor, ...]] = {}
        self.last_mode: str = ""
        """How the last call was conditioned: ``embedding`` | ``prompt`` | ``fallback`` | ``unconditional``."""
        self.last_prompt: str = ""
        self.last_crops: list[Crop] = []

    @classmethod
    def locate(cls, model: str | None = None, revision: str | None = None, **_: Any) -> Path | str:
        return resolve_folder(model or cls.default_weights, backend=cls.name, kind="diffusers", revision=revision)

    @classmethod
    def weights_label(cls, model: str | None = None, **_: Any) -> str:
        return str(model or cls.default_weights)

    # --- loading ---------------------------------------------------------------------
    def load(self) -> Any:
        """The diffusers pipeline, loaded once per process (Bob and Eve share it)."""
        key = (
            self.name,
            str(self.source),
            self.pipeline,
            str(self.device),
            str(self.dtype),
            self.variant,
            self.offload,
            self.safety_checker,
            self.revision,
        )
        return cached(key, self._load)

    def _load(self) -> Any:
        diffusers = require("diffusers", "diffusers", self.name)
        require("transformers", "transformers", self.name)
        cls_name = PIPELINES.get(self.pipeline, self.pipeline)
        cls = getattr(diffusers, cls_name, None)
        if cls is None:
            raise ConfigError(
                f"sd: unknown diffusers pipeline {self.pipeline!r}; use auto, sd, sdxl or a diffusers class name"
            )
        kw: dict[str, Any] = dtype_kwarg("diffusers", self.dtype)
        if self.variant:
            kw["variant"] = self.variant
        if self.revision and isinstance(self.source, str):
            kw["revision"] = self.revision
        if not self.safety_checker:
            kw["safety_checker"] = None
            kw["requires_safety_checker"] = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                pipe = cls.from_pretrained(str(self.source), **kw)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise load_error(self.name, self.source, exc) from None
        if self.offload == "model":
            pipe.enable_model_cpu_offload(device=self.device)
        elif self.offload == "sequential":
            pipe.enable_sequential_cpu_offload(device=self.device)
        else:
            pipe = pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @staticmethod
    def model_resolution(pipe: Any) -> int:
        """The model's native resolution (``unet.sample_size * vae_scale_factor``)."""
        unet = getattr(pipe, "unet", None)
        vsf = int(getattr(pipe, "vae_scale_factor", 8) or 8)
        size = getattr(getattr(unet, "config", None), "sample_size", None)
        if isinstance(size, (list, tuple)):
            size = max(size)
        return int(size) * vsf if size else 512

    def _device(self, pipe: Any) -> torch.device:
        return torch.device(getattr(pipe, "_execution_device", self.device))

    # --- conditioning ----------------------------------------------------------------
    def encode(self, pipe: Any, prompt: str) -> tuple[torch.Tensor, ...]:
        """``encode_prompt`` of ``prompt`` and the negative prompt, cached per prompt:
        ``(prompt_embeds, negative_prompt_embeds[, pooled, negative_pooled])``."""
        if prompt not in self._embeds:
            with torch.no_grad():
                res = pipe.encode_prompt(
                    prompt=prompt,
                    device=self._device(pipe),
                    num_images_per_prompt=1,
                    do_classifier_free_guidance=True,
                    negative_prompt=self.negative_prompt,
                )
            if len(self._embeds) > 128:
                self._embeds.clear()
            self._embeds[prompt] = tuple(res)
        return self._embeds[prompt]

    def _hidden_states(self, pipe: Any, emb: torch.Tensor | None) -> torch.Tensor | None:
        """``emb`` as ``[1, L, D]`` prompt_embeds if it matches the text encoder, else None."""
        te, tok = getattr(pipe, "text_encoder", None), getattr(pipe, "tokenizer", None)
        if emb is None or te is None or tok is None or emb.dim() not in (2, 3):
            return None
        e = emb if emb.dim() == 3 else emb[None]
        width = int(getattr(te.config, "hidden_size", -1))
        if e.shape[0] != 1 or e.shape[1] != int(tok.model_max_length) or e.shape[2] != width:
            return None
        return e.to(self._device(pipe), te.dtype)

    def conditioning(self, pipe: Any, condition: TextCondition | None) -> dict[str, Any]:
        """The pipeline keyword arguments for ``condition`` (see the module docstring)."""
        cond = condition or TextCondition()
        hidden = self._hidden_states(pipe, cond.embedding)
        names = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")
        if hidden is not None:
            neg = self.encode(pipe, "")
            if len(neg) == 2:  # (SDXL would also need pooled vectors that hidden states lack)
                self.last_mode, self.last_prompt = "embedding", ""
                return {"prompt_embeds": hidden, "negative_prompt_embeds": neg[1]}
        if cond.prompt:
            prompt, self.last_mode = cond.text() or cond.prompt, "prompt"
        elif self.fallback_prompt and ("{category}" not in self.fallback_prompt or cond.category):
            prompt = self.fallback_prompt.format(category=(cond.category or "").replace("_", " "))
            self.last_mode = "fallback"
        else:
            prompt, self.last_mode = "", "unconditional"
        self.last_prompt = prompt
        if hasattr(pipe, "encode_prompt") and getattr(pipe, "text_encoder", None) is not None:
            res = self.encode(pipe, prompt)
            return dict(zip(names, res))
        return {"prompt": prompt, "negative_prompt": self.negative_prompt}

    # --- inpainting ------------------------------------------------------------------
    @torch.no_grad()
    def inpaint(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        condition: TextCondition | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Fill the masked pixels of ``image`` [1,3,H,W] in [0,1]; pixels outside the crops
        are returned exactly. Apply :func:`~vlm_privsc.inpaint.base.paste_back` after."""
        if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3:
            raise InputError(f"sd: inpaint takes one RGB image [1,3,H,W], got {tuple(image.shape)}")
        if mask.dim() != 4 or tuple(mask.shape[-2:]) != tuple(image.shape[-2:]):
            raise InputError(f"sd: mask {tuple(mask.shape)} does not match image {tuple(image.shape)}")
        m = mask[0, 0].detach().cpu().numpy().astype(bool)
        self.last_crops = []
        if not m.any():
            return image.clone()
        pipe = self.load()
        kwargs = self.conditioning(pipe, condition)
        if self.seed is not None:
            gen = torch.Generator().manual_seed(int(self.seed))
        else:
            gen = generator if generator is not None else torch.Generator().manual_seed(0)
        res = int(self.resolution or self.model_resolution(pipe))
        multiple = max(8, int(getattr(pipe, "vae_scale_factor", 8) or 8))
        src = image[0].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        out = src.copy()
        from PIL import Image

        self.last_crops = crop_boxes(m, self.margin, self.min_crop, self.max_crops)
        for x0, y0, x1, y1 in self.last_crops:
            tw, th = target_size(x1 - x0, y1 - y0, res, multiple)
            crop = _resize(src[y0:y1, x0:x1], (tw, th))
            mc = cv2.resize(m[y0:y1, x0:x1].astype(np.float32), (tw, th), interpolation=cv2.INTER_AREA) > 0
            result = pipe(
                image=Image.fromarray((crop * 255.0).round().astype(np.uint8)),
                mask_image=Image.fromarray(mc.astype(np.uint8) * 255),
                height=th,
                width=tw,
                num_inference_steps=self.steps,
                guidance_scale=self.guidance_scale,
                strength=self.strength,
                generator=gen,
                output_type="np",
                **kwargs,
            )
            nsfw = getattr(result, "nsfw_content_detected", None)
            if nsfw and any(nsfw):
                warnings.warn(
                    "sd: the safety checker blanked a generated crop (params.safety_checker=false disables it)",
                    stacklevel=2,
                )
            gen_img = np.asarray(result.images[0], dtype=np.float32)
            out[y0:y1, x0:x1] = _resize(gen_img, (x1 - x0, y1 - y0))
        return torch.from_numpy(out).permute(2, 0, 1)[None].to(image.device, image.dtype)
