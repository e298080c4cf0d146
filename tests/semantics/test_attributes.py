"""Region attributes: quantisation, bit cost, and the preset's validation."""

from __future__ import annotations

import pytest
import torch

from vlm_privsc.semantics.attributes import ATTRIBUTES, describe, render, target_lab, target_shading


def test_bins_quantise_and_centres_fall_in_their_bins():
    for spec in ATTRIBUTES.values():
        for name in spec.names:
            assert spec.quantise(spec.centre(name)) == name


def test_describe_reads_the_region_colour():
    img = torch.zeros(1, 3, 20, 20)
    img[:, :, :10] = 0.9  # light top half
    top = torch.zeros(1, 1, 20, 20, dtype=torch.bool)
    top[..., :10, :] = True
    assert describe(img, top, ("tone",)) == {"tone": "light"}
    assert describe(img, ~top, ("tone",)) == {"tone": "dark"}
    assert describe(img, torch.zeros_like(top), ("tone",)) == {}
    assert target_lab({"tone": "light", "unknown": "x"}) == {0: ATTRIBUTES["tone"].centre("light")}
    assert render({"tone": "light", "warmth": "warm"}) == "light tone, warm warmth"
    assert render({"shade_x": "slightly-left", "shade_y": "above"}) == "lit slightly from the left, lit from above"
    assert render({"shade_y": "even"}) == "evenly lit"


def test_shading_says_which_half_of_the_region_is_lighter():
    img = torch.full((1, 3, 20, 20), 0.3)
    img[..., 10:] = 0.8  # the right half is lighter
    region = torch.zeros(1, 1, 20, 20, dtype=torch.bool)
    region[..., 4:16, 4:16] = True
    got = describe(img, region, ("tone", "shade_x", "shade_y"))
    assert got["shade_x"] == "right" and got["shade_y"] == "even"
    img2 = img.transpose(2, 3).contiguous()  # lighter lower half
    assert describe(img2, region, ("shade_y",)) == {"shade_y": "below"}
    assert target_shading(got) == {"shade_x": ATTRIBUTES["shade_x"].centre("right"), "shade_y": 0.0}
    assert 0 not in target_lab({"shade_x": "right"})  # a shading is not a mean lightness


def test_preset_rejects_unknown_attributes():
    from pydantic import ValidationError

    from vlm_privsc.config import SemanticConfig

    assert SemanticConfig(attributes=("tone",)).attributes == ("tone",)
    with pytest.raises(ValidationError, match="unknown attribute"):
        SemanticConfig(attributes=("eye_colour",))
