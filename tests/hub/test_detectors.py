"""OWLv2 and Grounding DINO on tiny random models loaded from local folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.guard.detectors import DETECTORS, Detection
from vlm_privsc.guard.detectors.grounded import GroundingDinoDetector, Owlv2Detector

PROMPTS = ("a human face", "a person's face", "a face")


def _image(h: int = 50, w: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _check(dets: list[Detection], h: int, w: int, name: str, floor: float) -> None:
    assert dets, "a random model with a zero floor returns boxes"
    scores = [d.score for d in dets]
    assert scores == sorted(scores, reverse=True)
    for d in dets:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert floor <= d.score <= 1 and d.detector == name and d.mask is None


def test_owlv2_registered_and_detects(owlv2_dir: Path):
    det = DETECTORS.build("owlv2", model=str(owlv2_dir), score_floor=0.0, max_detections=5, device="cpu")
    assert isinstance(det, Owlv2Detector) and det.dtype == torch.float32
    img = _image()
    dets = det.detect(img, PROMPTS)
    assert len(dets) <= 5
    _check(dets, 50, 80, "owlv2", 0.0)
    assert det.detect(img, ()) == []  # nothing to look for
    high = DETECTORS.build("owlv2", model=str(owlv2_dir), score_floor=0.999, device="cpu")
    assert all(d.score >= 0.999 for d in high.detect(img, PROMPTS))
    with pytest.raises(InputError):
        det.detect(img[..., 0], PROMPTS)
    with pytest.raises(ConfigError):
        Owlv2Detector(str(owlv2_dir), score_floor=2.0)


def test_owlv2_matches_the_model_forward_and_caches_the_image(owlv2_dir: Path):
    """The per-image feature cache gives exactly what Owlv2ForObjectDetection.forward gives,
    with all prompts of a category batched into one query set."""
    det = Owlv2Detector(str(owlv2_dir), device="cpu")
    model, proc = det.load()
    img = _image(64, 40, seed=1)
    logits, boxes = det.raw(img, PROMPTS)
    L = model.config.text_config.max_position_embeddings
    tok = proc.tokenizer(list(PROMPTS), padding="max_length", max_length=L, truncation=True, return_tensors="pt")
    pix = proc.image_processor(images=img, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        ref = model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"], pixel_values=pix)
    assert logits.shape == (ref.logits.shape[1], len(PROMPTS))
    torch.testing.assert_close(logits, ref.logits[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(boxes, ref.pred_boxes[0], atol=1e-5, rtol=1e-5)

    calls = {"n": 0}
    orig = model.image_embedder

    def counting(*a, **k):
        calls["n"] += 1
        return orig(*a, **k)

    model.image_embedder = counting
    try:
        det.detect(img, PROMPTS)  # same image: cached
        det.detect(img, ("a license plate",))  # another category, same image: cached
        assert calls["n"] == 0
        det.detect(_image(64, 40, seed=2), PROMPTS)
        assert calls["n"] == 1
    finally:
        del model.image_embedder


def test_owlv2_boxes_map_back_through_the_square_padding(owlv2_dir: Path):
    """OWLv2 pads to a square at the bottom/right: normalised boxes scale by the longer
    side, then are clipped to the image (boxes lying in the padding are dropped)."""
    det = Owlv2Detector(str(owlv2_dir), score_floor=0.0, max_detections=1000, nms_iou=1.0, device="cpu")
    img = _image(40, 100, seed=3)
    logits, cxcywh = det.raw(img, PROMPTS)
    scores = torch.sigmoid(logits).max(-1).values
    c = cxcywh * 100  # the longer side
    exp = torch.stack([c[:, 0] - c[:, 2] / 2, c[:, 1] - c[:, 3] / 2, c[:, 0] + c[:, 2] / 2, c[:, 1] + c[:, 3] / 2], -1)
    exp[:, 0::2] = exp[:, 0::2].clamp(0, 100)
    exp[:, 1::2] = exp[:, 1::2].clamp(0, 40)
    valid = (exp[:, 2] - exp[:, 0] >= 1) & (exp[:, 3] - exp[:, 1] >= 1)
    assert 0 < int(valid.sum()) < len(valid)  # some boxes fall in the padding
    best = int(torch.where(valid, scores, torch.full_like(scores, -1)).argmax())
    dets = det.detect(img, PROMPTS)
    assert len(dets) == int(valid.sum())
    np.testing.assert_allclose(dets[0].box, exp[best].tolist(), atol=1e-3)
    assert dets[0].score == pytest.approx(float(scores[best]), abs=1e-6)


def test_owlv2_half_precision(owlv2_dir: Path):
    """dtype=float16 (what CUDA gets by default) casts the inputs to the model's dtype."""
    det = Owlv2Detector(str(owlv2_dir), score_floor=0.0, max_detections=3, device="cpu", dtype="float16")
    model, _ = det.load()
    assert next(model.parameters()).dtype == torch.float16
    _check(det.detect(_image(), PROMPTS), 50, 80, "owlv2", 0.0)


def test_grounding_dino_caption_and_detection(gdino_dir: Path):
    assert GroundingDinoDetector.caption(["A human face.", " a face ", ""]) == "a human face. a face."
    det = DETECTORS.build("grounding_dino", model=str(gdino_dir), score_floor=0.0, max_detections=4, device="cpu")
    img = _image(50, 80)
    dets = det.detect(img, PROMPTS)
    assert len(dets) <= 4
    _check(dets, 50, 80, "grounding_dino", 0.0)
    scores, boxes = det.raw(img, PROMPTS)
    assert scores.shape == (20,) and boxes.shape == (20, 4)  # num_queries of the tiny config
    assert float(scores.max()) == pytest.approx(dets[0].score, abs=1e-6)
