from __future__ import annotations

import numpy as np
import pytest
import torch

from vlm_privsc.db.schema import MaskSpec
from vlm_privsc.errors import UnknownNameError
from vlm_privsc.guard.fill import FILLS, apply_fill
from vlm_privsc.guard.masks import dilate_box, region_mask


def _img_and_mask(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    img = torch.rand(1, 3, 40, 50, generator=g)
    mask = torch.zeros(1, 1, 40, 50, dtype=torch.bool)
    mask[..., 10:25, 15:35] = True
    return img, mask


@pytest.mark.parametrize("method", sorted(FILLS))
def test_fill_carries_nothing_of_the_private_pixels(method: str):
    """Change only the private pixels: the masked image must not change at all."""
    img, mask = _img_and_mask()
    other = img.clone()
    other[mask.expand_as(img)] = torch.rand(int(mask.sum()) * 3, generator=torch.Generator().manual_seed(9))
    a = apply_fill(img, mask, method, torch.Generator().manual_seed(1))
    b = apply_fill(other, mask, method, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    # public pixels are untouched, private ones replaced, values in range
    assert torch.equal(a[~mask.expand_as(a)], img[~mask.expand_as(img)])
    assert not torch.equal(a[mask.expand_as(a)], img[mask.expand_as(img)])
    assert float(a.min()) >= 0 and float(a.max()) <= 1


def test_mean_fill_is_public_mean():
    img, mask = _img_and_mask()
    out = apply_fill(img, mask, "mean")
    pub = img[:, :, ~mask[0, 0]]
    assert torch.allclose(out[0, :, 12, 20], pub.mean(dim=-1)[0], atol=1e-6)


def test_blur_fill_follows_surroundings():
    img = torch.zeros(1, 3, 32, 64)
    img[..., 32:] = 1.0  # left black, right white
    mask = torch.zeros(1, 1, 32, 64, dtype=torch.bool)
    mask[..., 8:24, 4:20] = True  # hole in the black half
    out = apply_fill(img, mask, "blur")
    assert float(out[0, :, 16, 10].mean()) < 0.3  # dark, like its surroundings


def test_noise_fill_is_seeded():
    img, mask = _img_and_mask()
    a = apply_fill(img, mask, "noise", torch.Generator().manual_seed(3))
    b = apply_fill(img, mask, "noise", torch.Generator().manual_seed(3))
    c = apply_fill(img, mask, "noise", torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_unknown_fill():
    img, mask = _img_and_mask()
    with pytest.raises(UnknownNameError, match="valid: mean"):
        apply_fill(img, mask, "sparkles")


def test_dilate_box_clips():
    assert dilate_box((10, 10, 30, 50), 0.5, 35, 100) == (0, 0, 35, 70)


def test_region_mask_shapes():
    box = (20.0, 10.0, 60.0, 50.0)
    b = region_mask(MaskSpec(shape="box", dilate=0.0), box, 64, 80)
    assert b.sum() == 40 * 40 and b[10, 20] and not b[9, 20]
    e = region_mask(MaskSpec(shape="ellipse", dilate=0.0), box, 64, 80)
    assert e[30, 40] and not e[10, 20]  # centre in, corner out
    assert 0.7 * 40 * 40 < e.sum() < 0.9 * 40 * 40  # ~pi/4 of the box
    d = region_mask(MaskSpec(shape="box", dilate=0.25), box, 64, 80)
    assert d.sum() > b.sum() and d[5, 15]
    px = region_mask(MaskSpec(shape="box", dilate=0.0, dilate_px=3), box, 64, 80)
    assert px[10, 17] and px.sum() > b.sum()


def test_region_mask_polygon_and_segment_fallback():
    box = (10.0, 10.0, 50.0, 20.0)
    poly = np.array([[10, 10], [50, 10], [50, 20], [10, 20]], float)
    m = region_mask(MaskSpec(shape="polygon", dilate=0.0), box, 40, 60, polygon=poly)
    assert m[15, 30] and not m[30, 30]
    seg = np.zeros((40, 60), bool)
    seg[12:18, 12:48] = True
    s = region_mask(MaskSpec(shape="segment", dilate=0.0), box, 40, 60, pixel_mask=seg)
    assert s.sum() == seg.sum()
    fb = region_mask(MaskSpec(shape="segment", dilate=0.0), box, 40, 60)  # no mask given -> box
    assert fb.sum() == 40 * 10


def test_grabcut_refines_inside_box():
    img = np.full((80, 80, 3), 30, np.uint8)
    img[25:55, 25:55] = (220, 40, 40)  # red square on dark background
    box = (15.0, 15.0, 65.0, 65.0)
    m = region_mask(MaskSpec(shape="box", dilate=0.0, refine="grabcut"), box, 80, 80, image=img)
    plain = region_mask(MaskSpec(shape="box", dilate=0.0), box, 80, 80)
    assert m[40, 40] and m.sum() < plain.sum()
    assert not (m & ~plain).any()  # never grows outside the box


def test_pushpull_fills_only_the_holes_smoothly_on_any_channels():
    from vlm_privsc.pushpull import pushpull

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 20, 24, generator=g)  # not an image: a latent with 5 channels, any sign
    holes = torch.zeros(2, 1, 20, 24, dtype=torch.bool)
    holes[0, :, 5:15, 6:18] = True
    out = pushpull(x, holes)
    assert torch.equal(out[~holes.expand_as(x)], x[~holes.expand_as(x)])
    filled = out[0][holes[0].expand(5, -1, -1)]
    known = x[0][~holes[0].expand(5, -1, -1)]
    assert filled.min() >= known.min() and filled.max() <= known.max()  # a blend, never beyond
    assert filled.std() < known.std()  # smooth, not a copy of the noise
    assert torch.equal(out[1], x[1])  # an image with no holes is untouched
    # a constant field is extended exactly; an image with nothing known gets `empty`
    c = torch.full((1, 2, 8, 8), -3.0)
    assert torch.allclose(pushpull(c, holes[:1, :, :8, :8] | True, empty=0.25), torch.full_like(c, 0.25))
    h2 = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    h2[..., 2:6, 2:6] = True
    assert torch.allclose(pushpull(c, h2), c)
