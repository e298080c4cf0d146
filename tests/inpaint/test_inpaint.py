from __future__ import annotations

import pytest
import torch

from vlm_privsc.inpaint import INPAINTERS, TextCondition, dilate_mask, feather_alpha, paste_back


def _case():
    g = torch.Generator().manual_seed(0)
    dec = torch.rand(1, 3, 48, 64, generator=g)
    gen = torch.rand(1, 3, 48, 64, generator=g)
    mask = torch.zeros(1, 1, 48, 64, dtype=torch.bool)
    mask[..., 15:30, 20:40] = True
    return dec, gen, mask


@pytest.mark.parametrize("px", [0, 1, 4, 9])
def test_paste_back_is_exact_outside_the_dilated_mask(px: int):
    dec, gen, mask = _case()
    out = paste_back(dec, gen, mask, px)
    grown = dilate_mask(mask, px)
    outside = ~grown.expand_as(dec)
    assert torch.equal(out[outside], dec[outside])  # bit-exact, not just close
    inside = mask.expand_as(dec)
    assert torch.allclose(out[inside], gen[inside])


def test_feather_ramps_between_mask_and_ring():
    _, _, mask = _case()
    a = feather_alpha(mask, 6)
    assert float(a[0, 0, 20, 30]) == 1.0  # on the mask
    assert float(a[0, 0, 0, 0]) == 0.0  # far away
    ring = a[0, 0, 22, 41:47]  # moving right, away from the mask edge at x=39
    assert all(float(ring[i]) >= float(ring[i + 1]) for i in range(len(ring) - 1))
    assert 0.0 < float(ring[0]) < 1.0


@pytest.mark.parametrize("name", ["telea", "ns", "pushpull"])
def test_classical_inpainters_fill_only_the_mask(name: str):
    img = torch.zeros(1, 3, 40, 40)
    img[:, 0] = 0.8  # red everywhere
    hole = torch.zeros(1, 1, 40, 40, dtype=torch.bool)
    hole[..., 15:25, 15:25] = True
    damaged = img.clone()
    damaged[:, :, 15:25, 15:25] = 0.0
    inp = INPAINTERS.build(name)
    out = inp.inpaint(damaged, hole, TextCondition(prompt="ignored"))
    assert torch.equal(out[~hole.expand_as(out)], damaged[~hole.expand_as(out)])
    assert float(out[0, 0, 20, 20]) > 0.7 and float(out[0, 1, 20, 20]) < 0.1  # red restored from context


def test_opencv_inpainter_large_image_works_downscaled():
    img = torch.full((1, 3, 600, 1200), 0.5)
    hole = torch.zeros(1, 1, 600, 1200, dtype=torch.bool)
    hole[..., 200:300, 500:700] = True
    out = INPAINTERS.build("telea", max_side=256).inpaint(img, hole)
    assert out.shape == img.shape
    assert abs(float(out[0, :, 250, 600].mean()) - 0.5) < 0.02


def test_no_mask_is_identity():
    dec, _, _ = _case()
    empty = torch.zeros(1, 1, 48, 64, dtype=torch.bool)
    assert torch.equal(INPAINTERS.build("telea").inpaint(dec, empty), dec)


def test_pushpull_is_smooth_and_ignores_the_hole():
    """A left-to-right gradient with a hole: the fill continues the gradient, whatever was inside."""
    ramp = torch.linspace(0, 1, 64).expand(1, 3, 48, 64).clone()
    hole = torch.zeros(1, 1, 48, 64, dtype=torch.bool)
    hole[..., 16:32, 24:40] = True
    a, b = ramp.clone(), ramp.clone()
    a[:, :, 16:32, 24:40] = 1.0
    b[:, :, 16:32, 24:40] = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    inp = INPAINTERS.build("pushpull")
    fa, fb = inp.inpaint(a, hole), inp.inpaint(b, hole)
    assert torch.equal(fa, fb)  # only the pixels outside the hole count
    inside = fa[0, 0, 24, 24:40]
    assert bool((inside[1:] >= inside[:-1] - 1e-6).all())  # still increasing left to right
    assert float((fa - ramp)[hole.expand_as(fa)].abs().mean()) < 0.06
    assert INPAINTERS.get("pushpull").availability()[0]
