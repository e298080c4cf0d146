"""Measures of the generative receiver (vlm_privsc.measure.generation)."""

from __future__ import annotations

import math

import torch

from vlm_privsc.measure.generation import bootstrap_ci, box_centred_in, region_quality, seam_ratio


def _scene() -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.linspace(0, 1, 64)
    img = (0.3 + 0.4 * y[None, :] * torch.ones(64, 1))[None, None].expand(1, 3, 64, 64).clone()
    img += 0.02 * torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 1, 64, 64, dtype=torch.bool)
    mask[..., 20:44, 20:44] = True
    return img, mask


def test_seam_ratio_flags_a_pasted_patch():
    img, mask = _scene()
    seamless = seam_ratio(img, mask)
    pasted = img.clone()
    pasted[mask.expand_as(img)] = 0.95  # a flat bright patch: a hard seam all round
    assert seam_ratio(pasted, mask) > 3 * seamless
    assert 0.3 < seamless < 3
    assert math.isnan(seam_ratio(img, torch.zeros_like(mask)))


def test_region_quality_and_detection_inside():
    img, mask = _scene()
    q = region_quality(img, img, mask)
    assert q.psnr_mask == float("inf") and abs(q.ssim_box - 1.0) < 1e-9
    worse = region_quality(img, img * 0.5, mask)
    assert worse.psnr_mask < 20 and worse.ssim_box < 1
    assert box_centred_in([(22, 22, 40, 40)], mask) and not box_centred_in([(0, 0, 10, 10)], mask)


def test_bootstrap_interval_brackets_the_mean():
    m, lo, hi = bootstrap_ci([0.0, 1.0] * 20 + [float("nan")])
    assert m == 0.5 and lo < 0.5 < hi and hi - lo < 0.4
    assert bootstrap_ci([1.0, 1.0]) == (1.0, 1.0, 1.0)
    assert all(math.isnan(v) for v in bootstrap_ci([]))
