"""Segment Anything: box prompts -> pixel masks for the privacy guard.

===========  ===============================================  =========================================
name         model                                            weights
===========  ===============================================  =========================================
``sam``      segment-anything ``Sam`` + ``SamPredictor``       a checkpoint file (``sam_vit_b_01ec64.pth``,
                                                              ``sam_vit_l_0b3195.pth``, ``sam_vit_h_4b8939.pth``)
``sam_hf``   transformers ``SamModel`` + ``SamProcessor``      a model folder or hub id (``facebook/sam-vit-base``)
===========  ===============================================  =========================================

::

    image ──► image encoder (ViT, once per image, cached) ──► embedding ─┐
    boxes (every detection of a category, one batch) ──► prompt encoder ─┴─► mask decoder ──► [N,H,W] bool

The ``sam`` backend reads the architecture from the checkpoint itself (encoder width,
depth, heads, windowed/global blocks, image size, decoder widths), so ViT-B/L/H and any
smaller re-trained or distilled model in segment-anything's format load the same way.

Reference:
    A. Kirillov et al., "Segment Anything", ICCV 2023.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.hub.base import HubBackend
from vlm_privsc.hub.runtime import dtype_kwarg, pick_device, pick_dtype
from vlm_privsc.hub.weights import cached, image_key, load_error, require, resolve_file, resolve_folder

Box = tuple[float, float, float, float]

#: The official checkpoints (https://github.com/facebookresearch/segment-anything).
SAM_CHECKPOINTS: dict[str, str] = {
    "vit_b": "sam_vit_b_01ec64.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_h": "sam_vit_h_4b8939.pth",
}
SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def _check(image: np.ndarray, boxes: Sequence[Box], who: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{who}: expected an RGB image array [H, W, 3], got {getattr(image, 'shape', type(image))}")
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    h, w = image.shape[:2]
    b[:, 0::2] = b[:, 0::2].clip(0, w)
    b[:, 1::2] = b[:, 1::2].clip(0, h)
    img = image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img), b


# --- segment-anything checkpoints -----------------------------------------------------
def read_state_dict(path: Path, who: str = "sam") -> dict[str, torch.Tensor]:
    """A checkpoint's tensors (``.pth``/``.pt`` via ``torch.load(weights_only=True)``, or
    ``.safetensors``); a ``{"model": state_dict}`` wrapper is unwrapped."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip / safetensors errors of all kinds
        raise load_error(who, path, exc) from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or "image_encoder.patch_embed.proj.weight" not in state:
        raise InputError(
            f"{who}: {str(path)!r} is not a segment-anything checkpoint (no image_encoder.patch_embed weights)"
        )
    return state


def sam_arch(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The architecture of a segment-anything ``Sam`` read from its tensors' shapes."""
    pe = state["image_encoder.patch_embed.proj.weight"]
    embed_dim, patch = int(pe.shape[0]), int(pe.shape[-1])
    grid = int(state["image_encoder.pos_embed"].shape[1]) if "image_encoder.pos_embed" in state else 64
    blocks = sorted({int(m.group(1)) for k in state if (m := re.match(r"image_encoder\.blocks\.(\d+)\.", k))})
    use_rel = "image_encoder.blocks.0.attn.rel_pos_h" in state
    head_dim, window, global_idx = 64, 14, []
    if use_rel:
        head_dim = int(state["image_encoder.blocks.0.attn.rel_pos_h"].shape[1])
        sizes = {i: (int(state[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape[0]) + 1) // 2 for i in blocks}
        global_idx = [i for i, s in sizes.items() if s == grid]
        windowed = [s for s in sizes.values() if s != grid]
        window = windowed[0] if windowed else grid
    out_chans = int(state["image_encoder.neck.0.weight"].shape[0])
    dec_layers = {int(m.group(1)) for k in state if (m := re.match(r"mask_decoder\.transformer\.layers\.(\d+)\.", k))}
    iou_layers = {
        int(m.group(1)) for k in state if (m := re.match(r"mask_decoder\.iou_prediction_head\.layers\.(\d+)\.", k))
    }
    q = state["mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight"]
    return {
        "img_size": grid * patch,
        "patch_size": patch,
        "embed_dim": embed_dim,
        "depth": len(blocks),
        "num_heads": max(1, embed_dim // head_dim),
        "mlp_ratio": float(state["image_encoder.blocks.0.mlp.lin1.weight"].shape[0]) / embed_dim,
        "qkv_bias": "image_encoder.blocks.0.attn.qkv.bias" in state,
        "use_rel_pos": use_rel,
        "window_size": window,
        "global_attn_indexes": tuple(global_idx),
        "out_chans": out_chans,
        "mask_in_chans": int(state["prompt_encoder.mask_downscaling.3.weight"].shape[0]),
        "decoder_depth": len(dec_layers),
        "decoder_mlp_dim": int(state["mask_decoder.transformer.layers.0.mlp.lin1.weight"].shape[0]),
        "attention_downsample_rate": max(1, out_chans // int(q.shape[0])),
        "num_multimask_outputs": int(state["mask_decoder.mask_tokens.weight"].shape[0]) - 1,
        "iou_head_depth": len(iou_layers),
        "iou_head_hidden_dim": int(state["mask_decoder.iou_prediction_head.layers.0.weight"].shape[0]),
    }


def build_sam(arch: dict[str, Any], decoder_heads: int = 8) -> torch.nn.Module:
    """A segment-anything ``Sam`` with the given architecture (random weights)."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    grid = arch["img_size"] // arch["patch_size"]
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=arch["depth"],
            embed_dim=arch["embed_dim"],
            img_size=arch["img_size"],
            mlp_ratio=arch["mlp_ratio"],
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=arch["num_heads"],
            patch_size=arch["patch_size"],
            qkv_bias=arch["qkv_bias"],
            use_rel_pos=arch["use_rel_pos"],
            global_attn_indexes=arch["global_attn_indexes"],
            window_size=arch["window_size"],
            out_chans=arch["out_chans"],
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=arch["out_chans"],
            image_embedding_size=(grid, grid),
            input_image_size=(arch["img_size"], arch["img_size"]),
            mask_in_chans=arch["mask_in_chans"],
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=arch["num_multimask_outputs"],
            transformer=TwoWayTransformer(
                depth=arch["decoder_depth"],
                embedding_dim=arch["out_chans"],
                mlp_dim=arch["decoder_mlp_dim"],
                num_heads=decoder_heads,
                attention_downsample_rate=arch["attention_downsample_rate"],
            ),
            transformer_dim=arch["out_chans"],
            iou_head_depth=arch["iou_head_depth"],
            iou_head_hidden_dim=arch["iou_head_hidden_dim"],
        ),
        pixel_mean=list(PIXEL_MEAN),
        pixel_std=list(PIXEL_STD),
    )


def load_sam_checkpoint(path: Path, decoder_heads: int = 8, who: str = "sam") -> torch.nn.Module:
    """Build the architecture the checkpoint describes and load it (strict)."""
    require("segment_anything", "segment-anything", who)
    state = read_state_dict(path, who)
    try:
        arch = sam_arch(state)
    except (KeyError, IndexError) as exc:
        raise InputError(
            f"{who}: {str(path)!r}: unexpected segment-anything checkpoint layout (missing {exc})"
        ) from None
    model = build_sam(arch, decoder_heads)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise load_error(who, path, exc) from None
    return model.eval()


def _torch_hub_checkpoints() -> list[Path]:
    try:
        return [Path(torch.hub.get_dir()) / "checkpoints"]
    except Exception:
        return []


class SamSegmenter(HubBackend):
    """Segment Anything from a segment-anything checkpoint file (``SamPredictor``).

    Args:
        checkpoint: a file path, or a file name looked up in the weights folders and torch
            hub's checkpoints folder; default: the official file of ``model_type``.
        model_type: ``vit_b`` | ``vit_l`` | ``vit_h``: only picks the default file name
            (the architecture is read from the checkpoint).
        multimask: ask SAM for 3 masks per box and keep the best by predicted IoU
            (default: SAM's single-mask output, the recommended one for box prompts).
        decoder_heads: attention heads of the mask decoder (8 in every official model;
            not recoverable from the weights).
        device: ``auto`` or a torch device string.
        max_boxes: boxes per batched decoder call.
    """

    name = "sam"
    requires: ClassVar[tuple[tuple[str, str], ...]] = (("segment_anything", "segment-anything"),)
    default_weights = SAM_CHECKPOINTS["vit_b"]

    def __init__(
        self,
        checkpoint: str | None = None,
        *,
        model_type: str = "vit_b",
        multimask: bool = False,
        decoder_heads: int = 8,
        device: str = "auto",
        max_boxes: int = 64,
    ) -> None:
        self.path = Path(self.locate(checkpoint=checkpoint, model_type=model_type))
        self.multimask = bool(multimask)
        self.decoder_heads = int(decoder_heads)
        self.device = pick_device(device)
        self.max_boxes = max(1, int(max_boxes))
        self._predictor: Any = None
        self._key: str | None = None

    @classmethod
    def _file(cls, checkpoint: str | None, model_type: str) -> str:
        if checkpoint:
            return str(checkpoint)
        if model_type not in SAM_CHECKPOINTS:
            raise ConfigError(f"sam: unknown model_type {model_type!r}; valid: {', '.join(SAM_CHECKPOINTS)}")
        return SAM_CHECKPOINTS[model_type]

    @classmethod
    def locate(cls, checkpoint: str | None = None, model_type: str = "vit_b", **_: Any) -> Path:
        f = cls._file(checkpoint, model_type)
        url = SAM_URL + f if f in SAM_CHECKPOINTS.values() else None
        return resolve_file(f, backend=cls.name, param="checkpoint", extra_dirs=_torch_hub_checkpoints(), url=url)

    @classmethod
    def weights_label(cls, checkpoint: str | None = None, model_type: str = "vit_b", **_: Any) -> str:
        try:
            return cls._file(checkpoint, model_type)
        except ConfigError:
            return str(checkpoint)

    def predictor(self) -> Any:
        if self._predictor is None:
            sam = cached(
                (self.name, str(self.path), self.decoder_heads, str(self.device)),
                lambda: load_sam_checkpoint(self.path, self.decoder_heads, self.name).to(self.device),
            )
            from segment_anything import SamPredictor

            self._predictor = SamPredictor(sam)
        return self._predictor

    @torch.no_grad()
    def segment(self, image: np.ndarray, boxes: Sequence[Box]) -> list[np.ndarray]:
        img, b = _check(image, boxes, self.name)
        if len(b) == 0:
            return []
        pred = self.predictor()
        key = image_key(img)
        if key != self._key:
            pred.set_image(img, image_format="RGB")
            self._key = key
        out: list[np.ndarray] = []
        for s in range(0, len(b), self.max_boxes):
            tb = torch.as_tensor(b[s : s + self.max_boxes], dtype=torch.float32, device=pred.device)
            tb = pred.transform.apply_boxes_torch(tb, img.shape[:2])
            masks, iou, _ = pred.predict_torch(None, None, boxes=tb, multimask_output=self.multimask)
            best = iou.argmax(dim=1) if self.multimask else torch.zeros(len(tb), dtype=torch.long, device=iou.device)
            sel = masks[torch.arange(len(tb), device=masks.device), best]
            out.extend(m.cpu().numpy().astype(bool) for m in sel)
        return out


class SamHFSegmenter(HubBackend):
    """Segment Anything through transformers (``SamModel`` + ``SamProcessor``).

    The image embedding is computed once per image (cached); all boxes of a call go
    through the prompt encoder and mask decoder in one batch.

    Args:
        model: a local model folder or hub id (default ``facebook/sam-vit-base``).
        multimask: as :class:`SamSegmenter`.
        mask_threshold: logit threshold of the mask (0 = SAM's own).
        device: ``auto`` or a torch device string.
        dtype: ``auto`` (float16 on CUDA, float32 elsewhere) | float32 | float16 | bfloat16.
        revision: hub revision to look up in the HF cache.
    """

    name = "sam_hf"
    requires: ClassVar[tuple[tuple[str, str], ...]] = (("transformers", "transformers"),)
    default_weights = "facebook/sam-vit-base"

    def __init__(
        self,
        model: str | None = None,
        *,
        multimask: bool = False,
        mask_threshold: float = 0.0,
        device: str = "auto",
        dtype: str = "auto",
        revision: str | None = None,
        max_boxes: int = 64,
    ) -> None:
        self.model_id = model or self.default_weights
        self.source = self.locate(model=self.model_id, revision=revision)
        self.multimask = bool(multimask)
        self.mask_threshold = float(mask_threshold)
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device, self.name)
        self.max_boxes = max(1, int(max_boxes))
        self._image: tuple[str, Any, Any, Any] | None = None

    @classmethod
    def locate(cls, model: str | None = None, revision: str | None = None, **_: Any) -> Path | str:
        return resolve_folder(model or cls.default_weights, backend=cls.name, kind="transformers", revision=revision)

    @classmethod
    def weights_label(cls, model: str | None = None, **_: Any) -> str:
        return str(model or cls.default_weights)

    def load(self) -> tuple[Any, Any]:
        def _load() -> tuple[Any, Any]:
            require("transformers", "transformers", self.name)
            from transformers import SamModel, SamProcessor

            try:
                proc = SamProcessor.from_pretrained(str(self.source))
                model = SamModel.from_pretrained(str(self.source), **dtype_kwarg("transformers", self.dtype))
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise load_error(self.name, self.source, exc) from None
            return model.to(self.device).eval(), proc  # type: ignore[arg-type]  # transformers' stub of .to

        return cached((self.name, str(self.source), str(self.device), str(self.dtype)), _load)

    @torch.no_grad()
    def segment(self, image: np.ndarray, boxes: Sequence[Box]) -> list[np.ndarray]:
        img, b = _check(image, boxes, self.name)
        if len(b) == 0:
            return []
        model, proc = self.load()
        key = image_key(img)
        if self._image is None or self._image[0] != key:
            enc = proc.image_processor(images=img, return_tensors="pt")
            emb = model.get_image_embeddings(enc["pixel_values"].to(self.device, self.dtype))
            if not torch.is_tensor(emb):  # some versions wrap it in an output object
                inner = getattr(emb, "image_embeddings", None)
                emb = inner if inner is not None else emb[0]
            self._image = (key, emb, enc["original_sizes"], enc["reshaped_input_sizes"])
        _, emb, orig, resized = self._image
        h, w = img.shape[:2]
        nh, nw = (int(v) for v in resized[0].tolist())
        scale = torch.tensor([nw / w, nh / h, nw / w, nh / h], dtype=torch.float32)
        out: list[np.ndarray] = []
        for s in range(0, len(b), self.max_boxes):
            tb = torch.as_tensor(b[s : s + self.max_boxes], dtype=torch.float32) * scale
            res = model(
                image_embeddings=emb, input_boxes=tb[None].to(self.device, self.dtype), multimask_output=self.multimask
            )
            masks = proc.image_processor.post_process_masks(
                res.pred_masks.float().cpu(), orig, resized, mask_threshold=self.mask_threshold, binarize=True
            )[0]  # [N, C, H, W] bool
            iou = res.iou_scores[0].float().cpu()  # [N, C]
            best = iou.argmax(dim=1) if self.multimask else torch.zeros(len(tb), dtype=torch.long)
            sel = masks[torch.arange(len(tb)), best]
            out.extend(m.numpy().astype(bool) for m in sel)
        return out
