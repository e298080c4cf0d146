"""Open-vocabulary detectors driven by the privacy database's prompts (transformers).

=====================  =========================================  =======================================
name                   model                                      default weights (hub id)
=====================  =========================================  =======================================
``owlv2``              OWLv2 (Minderer, Gritsenko, Houlsby 2023)   ``google/owlv2-base-patch16-ensemble``
``grounding_dino``     Grounding DINO (Liu et al. 2023)            ``IDEA-Research/grounding-dino-tiny``
=====================  =========================================  =======================================

::

    image (RGB uint8) ──► processor ──► vision tower ─┐            (OWLv2: features cached per image,
    category prompts ──► tokenizer ──► text tower ────┴─► per-query   reused by every category)
                                                          box + score ──► floor, NMS, top-k ──► Detections

All prompts of a category go through one forward pass. Every box above a low floor
(``score_floor``) is returned in the given image's pixel coordinates; the guard then
applies the category's threshold from the database, merges with the offline detectors
by per-category NMS and draws (or, with a segmenter, segments) the masks.

The weights are a local folder (``save_pretrained`` layout) or a hub id found in a
weights folder or the HF cache (:mod:`vlm_privsc.hub.weights`). transformers is imported
only when a model loads.

References:
    M. Minderer, A. Gritsenko, N. Houlsby, "Scaling Open-Vocabulary Object Detection",
    NeurIPS 2023.
    S. Liu et al., "Grounding DINO: Marrying DINO with Grounded Pre-Training for
    Open-Set Object Detection", ECCV 2024.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.guard.detectors.base import Detection
from vlm_privsc.hub.base import HubBackend
from vlm_privsc.hub.runtime import dtype_kwarg, pick_device, pick_dtype
from vlm_privsc.hub.weights import cached, image_key, load_error, require, resolve_folder


def _check_image(image: np.ndarray, who: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{who}: expected an RGB image array [H, W, 3], got {getattr(image, 'shape', type(image))}")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def _finish(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    size: tuple[int, int],
    name: str,
    floor: float,
    nms_iou: float,
    top_k: int,
) -> list[Detection]:
    """Clip xyxy boxes to the image, drop tiny ones and those below ``floor``,
    class-agnostic NMS, keep the ``top_k`` best (highest score first)."""
    from torchvision.ops import nms

    h, w = size
    boxes = boxes.float().cpu()
    scores = scores.float().cpu()
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
    ok = (scores >= floor) & (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
    boxes, scores = boxes[ok], scores[ok]
    if boxes.numel() == 0:
        return []
    keep = nms(boxes, scores, nms_iou)[:top_k]
    return [
        Detection(tuple(float(v) for v in boxes[i].tolist()), float(scores[i]), name)  # type: ignore[arg-type]
        for i in keep.tolist()
    ]


class _TransformersDetector(HubBackend):
    requires: ClassVar[tuple[tuple[str, str], ...]] = (("transformers", "transformers"),)

    def __init__(
        self,
        model: str | None = None,
        *,
        score_floor: float = 0.05,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        device: str = "auto",
        dtype: str = "auto",
        revision: str | None = None,
    ) -> None:
        if not 0.0 <= score_floor <= 1.0:
            raise ConfigError(f"{self.name}: score_floor must be in [0, 1], got {score_floor}")
        self.model_id = model or self.default_weights
        self.source = self.locate(model=self.model_id, revision=revision)
        self.score_floor = float(score_floor)
        self.nms_iou = float(nms_iou)
        self.max_detections = int(max_detections)
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device, self.name)

    @classmethod
    def locate(cls, model: str | None = None, revision: str | None = None, **_: Any) -> Path | str:
        return resolve_folder(model or cls.default_weights, backend=cls.name, kind="transformers", revision=revision)

    @classmethod
    def weights_label(cls, model: str | None = None, **_: Any) -> str:
        return str(model or cls.default_weights)

    def _load_classes(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def load(self) -> tuple[Any, Any]:
        """The (model, processor) pair, loaded once per process and shared."""

        def _load() -> tuple[Any, Any]:
            require("transformers", "transformers", self.name)
            model_cls, proc_cls = self._load_classes()
            try:
                proc = proc_cls.from_pretrained(str(self.source))
                model = model_cls.from_pretrained(str(self.source), **dtype_kwarg("transformers", self.dtype))
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise load_error(self.name, self.source, exc) from None
            return model.to(self.device).eval(), proc

        return cached((self.name, str(self.source), str(self.device), str(self.dtype)), _load)

    def _prompts(self, prompts: tuple[str, ...] | list[str]) -> list[str]:
        return [p.strip() for p in prompts if p and p.strip()]


class Owlv2Detector(_TransformersDetector):
    """OWLv2 open-vocabulary detection (``Owlv2ForObjectDetection`` + ``Owlv2Processor``).

    Per image, the vision tower, box head and patch features are computed once and reused
    for every category (the guard calls ``detect`` once per category); per prompt set, the
    text queries are embedded once. A box's score is its best sigmoid class score over the
    category's prompts.

    Args:
        model: a local model folder or a hub id (default ``google/owlv2-base-patch16-ensemble``).
        score_floor: boxes below this are dropped here (the database threshold comes later).
        nms_iou: IoU of the class-agnostic NMS over the returned boxes.
        max_detections: at most this many boxes per call (best first).
        device: ``auto`` (accelerator if any) or a torch device string.
        dtype: ``auto`` (float16 on CUDA, float32 elsewhere) | float32 | float16 | bfloat16.
        revision: hub revision to look up in the HF cache.
    """

    name = "owlv2"
    default_weights = "google/owlv2-base-patch16-ensemble"

    def __init__(self, model: str | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self._image: tuple[str, Any, Any] | None = None  # (key, patch features, boxes)
        self._queries: dict[tuple[str, ...], Any] = {}

    def _load_classes(self) -> tuple[Any, Any]:
        from transformers import Owlv2ForObjectDetection, Owlv2Processor

        return Owlv2ForObjectDetection, Owlv2Processor

    def _image_features(self, model: Any, proc: Any, image: np.ndarray) -> tuple[Any, Any]:
        key = image_key(image)
        if self._image is None or self._image[0] != key:
            pix = proc.image_processor(images=image, return_tensors="pt")["pixel_values"]
            pix = pix.to(self.device, self.dtype)
            fmap = model.image_embedder(pixel_values=pix)[0]
            b, gh, gw, d = fmap.shape
            feats = fmap.reshape(b, gh * gw, d)
            boxes = model.box_predictor(feats, fmap)
            self._image = (key, feats, boxes)
        return self._image[1], self._image[2]

    def _query_embeds(self, model: Any, proc: Any, prompts: tuple[str, ...]) -> Any:
        if prompts not in self._queries:
            length = int(model.config.text_config.max_position_embeddings)
            tok = proc.tokenizer(
                list(prompts), padding="max_length", max_length=length, truncation=True, return_tensors="pt"
            )
            out = model.owlv2.get_text_features(
                input_ids=tok["input_ids"].to(self.device), attention_mask=tok["attention_mask"].to(self.device)
            )
            q = out if torch.is_tensor(out) else getattr(out, "pooler_output", None)
            if q is None:
                q = out[0]
            if len(self._queries) > 64:
                self._queries.clear()
            self._queries[prompts] = q
        return self._queries[prompts]

    @torch.no_grad()
    def raw(self, image: np.ndarray, prompts: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [Q, P], boxes cxcywh [Q, 4])`` relative to the padded square input."""
        model, proc = self.load()
        feats, boxes = self._image_features(model, proc, image)
        q = self._query_embeds(model, proc, prompts)
        mask = torch.ones((1, q.shape[0]), dtype=torch.bool, device=self.device)
        logits = model.class_predictor(feats, q[None].to(feats.dtype), mask)[0]
        return logits[0].float(), boxes[0].float()

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = _check_image(image, self.name)
        prompts = tuple(self._prompts(prompts))
        if not prompts:
            return []
        logits, cxcywh = self.raw(image, prompts)
        h, w = image.shape[:2]
        side = float(max(h, w))  # OWLv2 pads to a square (bottom/right) before resizing
        cx, cy, bw, bh = cxcywh.unbind(-1)
        xyxy = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=-1) * side
        scores = torch.sigmoid(logits).max(dim=-1).values
        return _finish(xyxy, scores, (h, w), self.name, self.score_floor, self.nms_iou, self.max_detections)


class GroundingDinoDetector(_TransformersDetector):
    """Grounding DINO (``GroundingDinoForObjectDetection`` + ``AutoProcessor``).

    The category's prompts become one caption (``"a face. a human face."``) and one forward
    pass; a box's score is its best sigmoid token score over the caption's word tokens
    (special tokens and the ``.`` separators excluded). Text and image are fused inside
    the model, so nothing is cached across categories.

    Args: as :class:`Owlv2Detector` (default weights ``IDEA-Research/grounding-dino-tiny``).
    """

    name = "grounding_dino"
    default_weights = "IDEA-Research/grounding-dino-tiny"

    def _load_classes(self) -> tuple[Any, Any]:
        from transformers import AutoProcessor, GroundingDinoForObjectDetection

        return GroundingDinoForObjectDetection, AutoProcessor

    @staticmethod
    def caption(prompts: list[str] | tuple[str, ...]) -> str:
        """Grounding DINO's caption format: lower case, each phrase ended by ``.``."""
        return " ".join(p.strip().lower().rstrip(".").strip() + "." for p in prompts if p.strip())

    @torch.no_grad()
    def raw(self, image: np.ndarray, prompts: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores [Q], boxes cxcywh [Q, 4])`` relative to the image."""
        model, proc = self.load()
        length = int(getattr(model.config, "max_text_len", 256))
        text = proc.tokenizer(self.caption(prompts), return_tensors="pt", truncation=True, max_length=length)
        pix = proc.image_processor(images=image, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in text.items()}
        inputs["pixel_values"] = pix["pixel_values"].to(self.device, self.dtype)
        if "pixel_mask" in pix:
            inputs["pixel_mask"] = pix["pixel_mask"].to(self.device)
        out = model(**inputs)
        ids = text["input_ids"][0]
        tok = proc.tokenizer
        special = {i for i in (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id) if i is not None}
        special |= set(tok.convert_tokens_to_ids(["."]))
        words = torch.tensor([int(i) not in special for i in ids.tolist()], dtype=torch.bool)
        probs = torch.sigmoid(out.logits[0].float().cpu())[:, : ids.shape[0]]
        if not bool(words.any()):
            words = torch.ones_like(words)
        scores = probs[:, words].max(dim=-1).values
        return scores, out.pred_boxes[0].float().cpu()

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        image = _check_image(image, self.name)
        prompts = tuple(self._prompts(prompts))
        if not prompts:
            return []
        scores, cxcywh = self.raw(image, prompts)
        h, w = image.shape[:2]
        cx, cy, bw, bh = cxcywh.unbind(-1)
        xyxy = torch.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h], dim=-1)
        return _finish(xyxy, scores, (h, w), self.name, self.score_floor, self.nms_iou, self.max_detections)
