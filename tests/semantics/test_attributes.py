"""Region attributes: quantisation, bit cost, and the preset's validation."""

from __future__ import annotations

import pytest
import torch

from vlm_privsc.semantics.attributes import ATTRIBUTES, describe, render, target_lab


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


def test_preset_rejects_unknown_attributes():
    from pydantic import ValidationError

    from vlm_privsc.config import SemanticConfig

    assert SemanticConfig(attributes=("tone",)).attributes == ("tone",)
    with pytest.raises(ValidationError, match="unknown attribute"):
        SemanticConfig(attributes=("eye_colour",))
