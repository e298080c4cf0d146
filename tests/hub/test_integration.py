"""Masks flowing from database prompts to SAM to the inpainter, with tiny hub models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from vlm_privsc.db import load_db
from vlm_privsc.guard import PrivacyGuard
from vlm_privsc.guard.detectors.grounded import Owlv2Detector
from vlm_privsc.guard.sam import SamHFSegmenter
from vlm_privsc.inpaint import dilate_mask

DB = """
extends: none
categories:
  face:
    description: faces
    prompts: ["a human face", "a face"]
    detectors: []
    threshold: 0.0
    nms_iou: 0.5
    min_size: 1
    mask: {shape: segment, dilate: 0.0, dilate_px: 0}
    identity: true
    inpaint_prompt: a photo of the face of an anonymous person
policies:
  faces: {description: faces, categories: [face]}
"""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    p = tmp_path / "db.yaml"
    p.write_text(DB)
    return p


def test_guard_prompts_to_owlv2_to_sam_masks(db_path: Path, owlv2_dir: Path, sam_hf_dir: Path):
    """The category's prompts drive OWLv2; its box becomes SAM's prompt; SAM's pixel mask
    is the region's mask (no dilation in this database) and what the guard removes."""
    db = load_db(db_path)
    det = Owlv2Detector(str(owlv2_dir), score_floor=0.0, max_detections=1, device="cpu")
    seg = SamHFSegmenter(str(sam_hf_dir), device="cpu")
    img = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    guard = PrivacyGuard(db, "faces", extra_detectors=[det], segmenter=seg, fill="black")
    res = guard.run(img, torch.Generator().manual_seed(0))
    rgb = (img[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    (d,) = det.detect(rgb, ("a human face", "a face"))
    (sam_mask,) = seg.segment(rgb, [d.box])
    assert sam_mask.any() and not sam_mask.all()
    (region,) = res.regions
    assert region.category == "face" and region.detector == "owlv2+sam_hf"
    assert np.array_equal(region.mask.numpy(), sam_mask)
    assert np.array_equal(res.mask[0, 0].numpy(), sam_mask)
    assert float(res.masked[0][:, res.mask[0, 0]].abs().max()) == 0.0  # removed (black fill)
    assert torch.equal(res.masked[..., ~res.mask[0, 0]], img[..., ~res.mask[0, 0]])


@pytest.fixture
def hub_preset(tmp_path: Path, db_path: Path, gdino_dir: Path, sam_ckpt: Path, clip_dir: Path, sd_dir: Path) -> Path:
    from vlm_privsc.jscc import build_jscc, save_model

    torch.manual_seed(0)
    jscc = tmp_path / "jscc.safetensors"
    save_model(build_jscc("adjscc", channels=(8, 8, 8, 8), latent_channels=4), jscc)
    sd = {"model": str(sd_dir), "steps": 1, "guidance_scale": 3.0, "min_crop": 32, "device": "cpu"}
    preset = {
        "name": "tiny-hub",
        "guard": {
            "db": str(db_path),
            "policy": "faces",
            "extra_detectors": [
                {"name": "grounding_dino", "params": {"model": str(gdino_dir), "max_detections": 2, "device": "cpu"}}
            ],
            "segmenter": {"name": "sam", "params": {"checkpoint": str(sam_ckpt), "device": "cpu"}},
        },
        "jscc": {"model": str(jscc), "max_side": 96},
        "channel": {"name": "awgn", "snr_db": 20, "eve_snr_db": 5},
        "semantic": {"embedder": {"name": "clip", "params": {"model": str(clip_dir), "device": "cpu"}}},
        "inpaint": {
            "bob": {"name": "sd", "params": sd},
            "eve": {"name": "sd", "params": {**sd, "fallback_prompt": "a photo of {category}"}},
            "dilate_px": 3,
        },
        "identity": {"matcher": {"name": "sface"}},
    }
    p = tmp_path / "preset.yaml"
    p.write_text(yaml.safe_dump(preset))
    return p


def test_pipeline_with_every_hub_backend(hub_preset: Path):
    """A whole run on tiny hub models: Grounding DINO -> SAM -> masked -> JSCC -> Bob
    (CLIP embedding snapped to the database prompt -> SD prompt_embeds) and Eve."""
    from vlm_privsc.config import load_preset
    from vlm_privsc.pipeline import Pipeline

    pipe = Pipeline(load_preset(hub_preset))
    img = torch.rand(1, 3, 72, 96, generator=torch.Generator().manual_seed(1))
    r = pipe.run(img, seed=0)
    assert r.guard.regions and all(reg.detector.startswith("grounding_dino") for reg in r.guard.regions)
    assert any(reg.detector == "grounding_dino+sam" for reg in r.guard.regions)
    assert pipe.codebook.dim == 16  # the tiny CLIP's embedding
    assert pipe.bob_inpainter.last_mode == "prompt"
    assert pipe.bob_inpainter.last_prompt == "a photo of the face of an anonymous person"
    assert pipe.eve_inpainter.last_mode in ("fallback", "unconditional")
    keep = ~dilate_mask(r.mask, 3).expand_as(r.bob.decoded)
    assert torch.equal(r.bob.restored[keep], r.bob.decoded[keep])  # exact outside the dilated mask
    assert torch.equal(r.eve.restored[keep], r.eve.decoded[keep])
    inside = r.mask.expand_as(r.bob.decoded)
    assert not torch.equal(r.bob.restored[inside], r.bob.decoded[inside])


def test_hub_detections_merge_with_offline_detectors(tmp_path: Path, owlv2_dir: Path, sam_hf_dir: Path):
    """OWLv2 + SAM regions and an offline detector's box meet in the category's NMS merge;
    the removed area is the union of both."""
    import tests.guard.fakes  # noqa: F401  (registers fixed_boxes)

    db_yaml = DB.replace(
        "detectors: []",
        "detectors: [{name: fixed_boxes, params: {boxes: [[2, 2, 20, 18, 0.9]]}}]",
    )
    p = tmp_path / "db2.yaml"
    p.write_text(db_yaml)
    det = Owlv2Detector(str(owlv2_dir), score_floor=0.0, max_detections=1, device="cpu")
    seg = SamHFSegmenter(str(sam_hf_dir), device="cpu")
    img = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    res = PrivacyGuard(load_db(p), "faces", extra_detectors=[det], segmenter=seg).run(img)
    rgb = (img[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    (d,) = det.detect(rgb, ("a human face", "a face"))
    owl_mask = seg.segment(rgb, [d.box])[0]
    fixed_mask = seg.segment(rgb, [(2.0, 2.0, 20.0, 18.0)])[0]  # box-only detections get SAM masks too
    assert sum(r.merged for r in res.regions) == 2
    assert {r.detector for r in res.regions} <= {"owlv2+sam_hf", "fixed_boxes+sam_hf"}
    assert np.array_equal(res.mask[0, 0].numpy(), owl_mask | fixed_mask)
