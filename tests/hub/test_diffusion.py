"""Stable Diffusion inpainting on a tiny random pipeline: crops, conditioning, paste-back."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.inpaint import INPAINTERS, TextCondition, dilate_mask, paste_back
from vlm_privsc.inpaint.diffusion import StableDiffusionInpainter, crop_boxes, target_size

H, W = 80, 120


def _scene() -> tuple[torch.Tensor, torch.Tensor]:
    img = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 1, H, W, dtype=torch.bool)
    mask[..., 20:44, 30:60] = True
    return img, mask


@pytest.fixture(scope="module")
def sd(sd_dir: Path) -> StableDiffusionInpainter:
    return INPAINTERS.build("sd", model=str(sd_dir), steps=2, guidance_scale=5.0, min_crop=32, device="cpu")


# --- crop geometry (no model) -------------------------------------------------------------
def test_crop_boxes_cover_each_region_with_context():
    m = np.zeros((200, 300), bool)
    m[50:70, 40:80] = True  # 40 x 20
    (c,) = crop_boxes(m, margin=0.5, min_side=16)
    x0, y0, x1, y1 = c
    assert x1 - x0 == y1 - y0 == 80  # square, longer side 40 * (1 + 2 * 0.5)
    assert x0 <= 40 and x1 >= 80 and y0 <= 50 and y1 >= 70
    assert crop_boxes(m, margin=0.5, min_side=128)[0][2] - crop_boxes(m, margin=0.5, min_side=128)[0][0] == 128
    # near the border: moved inside, never outside the image
    e = np.zeros((200, 300), bool)
    e[0:10, 290:300] = True
    (c,) = crop_boxes(e, margin=1.0, min_side=64)
    assert c == (236, 0, 300, 64)
    # larger than the image: clipped to a rectangle
    assert crop_boxes(m, margin=5.0, min_side=16) == [(0, 0, 300, 200)]
    assert crop_boxes(np.zeros((10, 10), bool)) == []


def test_crop_boxes_merge_and_cap():
    m = np.zeros((200, 400), bool)
    m[10:20, 10:20] = True
    m[150:160, 350:360] = True
    assert len(crop_boxes(m, margin=0.5, min_side=32)) == 2  # far apart: one crop each
    m[15:25, 30:40] = True  # close to the first: its crop overlaps, so they share one
    crops = crop_boxes(m, margin=0.5, min_side=32)
    assert len(crops) == 2
    covered = np.zeros_like(m)
    for x0, y0, x1, y1 in crops:
        covered[y0:y1, x0:x1] = True
    assert covered[m].all()  # every True pixel is inside some crop
    (one,) = crop_boxes(m, margin=0.5, min_side=32, max_crops=1)
    assert one[0] <= 10 and one[2] >= 360


def test_target_size_keeps_aspect_in_multiples_of_8():
    assert target_size(100, 100, 512) == (512, 512)
    assert target_size(200, 100, 512) == (512, 256)
    assert target_size(90, 60, 64) == (64, 40)
    tw, th = target_size(333, 17, 512)
    assert tw == 512 and th % 8 == 0 and th >= 8


# --- the inpainter --------------------------------------------------------------------------
def test_inpaint_shapes_crops_and_exact_paste_back(sd: StableDiffusionInpainter):
    img, mask = _scene()
    g = torch.Generator().manual_seed(7)
    out = sd.inpaint(img, mask, TextCondition(prompt="a face"), g)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert sd.model_resolution(sd.load()) == 64  # tiny UNet sample 32 x VAE factor 2
    assert sd.last_mode == "prompt" and len(sd.last_crops) == 1
    x0, y0, x1, y1 = sd.last_crops[0]
    assert x1 - x0 == y1 - y0 == 60  # 30 px region, margin 0.5 each side
    outside = torch.ones(H, W, dtype=torch.bool)
    outside[y0:y1, x0:x1] = False
    assert torch.equal(out[0][:, outside], img[0][:, outside])  # untouched outside the crop
    assert (out - img)[..., 20:44, 30:60].abs().mean() > 0.01  # the masked region was repainted
    restored = paste_back(img, out, mask, dilate_px=4)
    keep = ~dilate_mask(mask, 4)
    assert torch.equal(restored[keep.expand_as(img)], img[keep.expand_as(img)])
    assert torch.equal(restored[mask.expand_as(img)], out[mask.expand_as(img)])
    # reproducible for a seed, different for another
    again = sd.inpaint(img, mask, TextCondition(prompt="a face"), torch.Generator().manual_seed(7))
    other = sd.inpaint(img, mask, TextCondition(prompt="a face"), torch.Generator().manual_seed(8))
    assert torch.equal(out, again) and not torch.equal(out, other)


def test_prompt_embeds_path(sd: StableDiffusionInpainter, monkeypatch: pytest.MonkeyPatch):
    """Bob's prompt is encoded by the pipeline's own text encoder and passed as
    prompt_embeds; the result equals diffusers' own handling of the prompt string, and
    an embedding already shaped like the hidden states [77, D] is used directly."""
    pipe = sd.load()
    calls: list[dict] = []
    original = type(pipe).__call__

    @functools.wraps(original)
    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    img, mask = _scene()
    by_embeds = sd.inpaint(img, mask, TextCondition(prompt="a face", category="face"), torch.Generator().manual_seed(1))
    kw = calls[-1]
    assert "prompt" not in kw and kw["prompt_embeds"].shape == (1, 77, 32)
    pe, ne = pipe.encode_prompt("a face", torch.device("cpu"), 1, True, "")
    torch.testing.assert_close(kw["prompt_embeds"], pe)
    torch.testing.assert_close(kw["negative_prompt_embeds"], ne)
    assert "a face" in sd._embeds  # cached per prompt

    monkeypatch.setattr(sd, "conditioning", lambda p, c: {"prompt": "a face", "negative_prompt": ""})
    by_string = sd.inpaint(img, mask, TextCondition(prompt="a face"), torch.Generator().manual_seed(1))
    torch.testing.assert_close(by_embeds, by_string, atol=1e-5, rtol=0)
    monkeypatch.undo()

    hidden = TextCondition(prompt=None, embedding=pe[0].clone())  # [77, 32]
    by_hidden = sd.inpaint(img, mask, hidden, torch.Generator().manual_seed(1))
    assert sd.last_mode == "embedding"
    torch.testing.assert_close(by_hidden, by_embeds, atol=1e-6, rtol=0)
    different = sd.inpaint(img, mask, TextCondition(prompt="a blank licence plate"), torch.Generator().manual_seed(1))
    assert not torch.allclose(different, by_embeds)


def test_eavesdropper_without_prompt(sd: StableDiffusionInpainter, sd_dir: Path):
    """Eve has only a pooled vector (no database): unconditional unless a fallback template
    is configured, which she fills with her own label guess."""
    img, mask = _scene()
    pooled = TextCondition(prompt=None, embedding=torch.randn(16), category="license_plate")
    a = sd.inpaint(img, mask, pooled, torch.Generator().manual_seed(2))
    assert sd.last_mode == "unconditional" and sd.last_prompt == ""
    b = sd.inpaint(img, mask, None, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    eve = StableDiffusionInpainter(
        str(sd_dir), steps=2, min_crop=32, device="cpu", fallback_prompt="a photo of {category}"
    )
    assert eve.load() is sd.load()  # one pipeline per process, shared by Bob and Eve
    eve.inpaint(img, mask, pooled, torch.Generator().manual_seed(2))
    assert eve.last_mode == "fallback" and eve.last_prompt == "a photo of license plate"


def test_fixed_seed_and_empty_mask(sd_dir: Path):
    fixed = StableDiffusionInpainter(str(sd_dir), steps=1, seed=3, min_crop=32, resolution=32, device="cpu")
    img, mask = _scene()
    a = fixed.inpaint(img, mask, None, torch.Generator().manual_seed(100))
    b = fixed.inpaint(img, mask, None, torch.Generator().manual_seed(200))
    assert torch.equal(a, b)  # params.seed wins over the generator passed in
    empty = torch.zeros_like(mask)
    assert torch.equal(fixed.inpaint(img, empty), img) and fixed.last_crops == []


def test_config_and_weights_errors(sd_dir: Path, owlv2_dir: Path):
    with pytest.raises(ConfigError, match="offload"):
        StableDiffusionInpainter(str(sd_dir), offload="model", device="cpu")
    with pytest.raises(ConfigError, match="steps"):
        StableDiffusionInpainter(str(sd_dir), steps=0)
    with pytest.raises(MissingWeightsError, match="not a diffusers model folder"):
        StableDiffusionInpainter(str(owlv2_dir))
    with pytest.raises(ConfigError, match="dtype"):
        StableDiffusionInpainter(str(sd_dir), dtype="float8")
