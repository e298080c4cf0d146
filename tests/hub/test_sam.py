"""SAM from a segment-anything checkpoint and from transformers' SamModel (tiny models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.hub.tiny import TINY_SAM_ARCH
from vlm_privsc.errors import InputError, MissingWeightsError
from vlm_privsc.guard.sam import SamHFSegmenter, SamSegmenter, read_state_dict, sam_arch
from vlm_privsc.guard.segmenters import SEGMENTERS

BOXES = [(10.0, 8.0, 40.0, 30.0), (50.0, 5.0, 78.0, 45.0), (0.0, 0.0, 80.0, 50.0)]


def _image(h: int = 50, w: int = 80) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _check_masks(masks: list[np.ndarray], n: int, h: int, w: int) -> None:
    assert len(masks) == n
    for m in masks:
        assert m.shape == (h, w) and m.dtype == bool


def test_architecture_is_read_from_the_checkpoint(sam_ckpt: Path):
    arch = sam_arch(read_state_dict(sam_ckpt))
    assert arch == {**TINY_SAM_ARCH, "global_attn_indexes": (2,)}


def test_official_architectures_round_trip():
    """The reader recovers segment-anything's own ViT-B builder exactly (shapes only)."""
    from segment_anything.build_sam import build_sam_vit_b

    with torch.device("meta"):
        sam = build_sam_vit_b()
    arch = sam_arch(dict(sam.state_dict()))
    assert (arch["img_size"], arch["embed_dim"], arch["depth"], arch["num_heads"]) == (1024, 768, 12, 12)
    assert arch["global_attn_indexes"] == (2, 5, 8, 11) and arch["window_size"] == 14
    assert (arch["out_chans"], arch["mask_in_chans"], arch["decoder_depth"], arch["decoder_mlp_dim"]) == (
        256,
        16,
        2,
        2048,
    )
    assert arch["num_multimask_outputs"] == 3 and arch["iou_head_hidden_dim"] == 256


def test_sam_checkpoint_segments_boxes(sam_ckpt: Path):
    seg = SEGMENTERS.build("sam", checkpoint=str(sam_ckpt), device="cpu")
    assert isinstance(seg, SamSegmenter)
    img = _image()
    masks = seg.segment(img, BOXES)
    _check_masks(masks, 3, 50, 80)
    again = seg.segment(img, BOXES[:1])  # cached image embedding, same decoder
    assert np.array_equal(again[0], masks[0])
    multi = SamSegmenter(str(sam_ckpt), multimask=True, device="cpu").segment(img, BOXES)
    _check_masks(multi, 3, 50, 80)
    assert seg.segment(img, []) == []


def test_sam_checkpoint_found_by_name_in_weights_dir(sam_ckpt: Path, tmp_path: Path):
    from vlm_privsc.hub.weights import set_weights_dir

    (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(sam_ckpt.read_bytes())
    with pytest.raises(MissingWeightsError, match="dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth"):
        SamSegmenter()
    set_weights_dir(tmp_path)
    seg = SamSegmenter(device="cpu")  # model_type vit_b -> the official file name
    assert seg.path == (tmp_path / "sam_vit_b_01ec64.pth").resolve()
    _check_masks(seg.segment(_image(), BOXES[:2]), 2, 50, 80)


def test_sam_bad_checkpoints_are_one_line_errors(tmp_path: Path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError) as e:
        SamSegmenter(str(junk), device="cpu").segment(_image(), BOXES)
    assert "cannot load weights" in str(e.value) and "\n" not in str(e.value)
    other = tmp_path / "other.pth"
    torch.save({"w": torch.zeros(2)}, other)
    with pytest.raises(InputError, match="not a segment-anything checkpoint"):
        SamSegmenter(str(other), device="cpu").segment(_image(), BOXES)


def test_sam_hf_segments_boxes(sam_hf_dir: Path):
    seg = SEGMENTERS.build("sam_hf", model=str(sam_hf_dir), device="cpu")
    assert isinstance(seg, SamHFSegmenter)
    img = _image()
    masks = seg.segment(img, BOXES)
    _check_masks(masks, 3, 50, 80)
    # one box alone gives the same mask as in the batch (boxes are independent prompts)
    assert np.array_equal(seg.segment(img, BOXES[1:2])[0], masks[1])
    half = SamHFSegmenter(str(sam_hf_dir), device="cpu", dtype="float16", multimask=True)
    _check_masks(half.segment(img, BOXES), 3, 50, 80)
