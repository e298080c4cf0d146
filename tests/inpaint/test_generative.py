"""The generative receivers: face_gan, patchmatch, flat, and the category router."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_privsc.errors import ConfigError, MissingWeightsError, UnknownNameError
from vlm_privsc.inpaint import INPAINTERS, TextCondition, dilate_mask, paste_back
from vlm_privsc.inpaint.face_gan import FaceGANInpainter, load_face_generator
from vlm_privsc.inpaint.generative import GenerativeInpainter
from vlm_privsc.io.images import to_tensor

needs_gan = pytest.mark.skipif(not FaceGANInpainter.availability()[0], reason="gan-face-generate not installed")


@pytest.fixture(scope="module")
def photo() -> tuple[torch.Tensor, torch.Tensor]:
    """The astronaut at 256 px with her face region (an ellipse, as the guard makes it)."""
    import cv2
    import skimage.data

    img = cv2.resize(np.asarray(skimage.data.astronaut()), (256, 256), interpolation=cv2.INTER_AREA)
    m = np.zeros((256, 256), np.uint8)
    cv2.ellipse(m, (110, 55), (30, 38), 0, 0, 360, 1, -1)
    return to_tensor(img), torch.from_numpy(m.astype(bool))[None, None]


def _with_private_changed(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    other = image.clone()
    other[mask.expand_as(image)] = torch.rand(int(mask.sum()) * 3, generator=torch.Generator().manual_seed(9))
    return other


FACE = TextCondition(
    prompt="a face", category="face", attributes={"tone": "medium", "warmth": "warm", "tint": "neutral"}
)


@needs_gan
def test_face_gan_is_deterministic_and_draws_a_face(photo):
    image, mask = photo
    inp = INPAINTERS.build("face_gan", encoder="none")  # random candidates: the seed picks the face
    a = inp.inpaint(image, mask, FACE, torch.Generator().manual_seed(1))
    b = inp.inpaint(image, mask, FACE, torch.Generator().manual_seed(1))
    c = inp.inpaint(image, mask, FACE, torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    inside = mask.expand_as(a)
    assert float(a[inside].std()) > 0.05  # structure inside the hole, not a flat blob
    # outside the mask the generator leaves the decoded pixels alone; paste_back makes it exact
    out = paste_back(image, a, mask, 4)
    outside = ~dilate_mask(mask, 4).expand_as(out)
    assert torch.equal(out[outside], image[outside])


@pytest.mark.parametrize(
    "name", [pytest.param("face_gan", marks=needs_gan), "patchmatch", "pushpull", "flat", "blank", "generative"]
)
def test_generators_read_only_transmitted_pixels(photo, name: str):
    """Changing the private pixels (never sent) gives a bit-identical restoration."""
    image, mask = photo
    inp = INPAINTERS.build(name)
    a = inp.inpaint(image, mask, FACE, torch.Generator().manual_seed(3))
    b = inp.inpaint(_with_private_changed(image, mask), mask, FACE, torch.Generator().manual_seed(3))
    if name == "pushpull":  # reads the hole's pixels as weights of zero: the same holds
        assert torch.allclose(a, b)
    else:
        assert torch.equal(a, b)


@needs_gan
def test_attributes_change_the_face_colour(photo):
    """Bob (attributes) and Eve (none) get different faces; a lighter tone gives a lighter face."""
    from vlm_privsc.semantics.attributes import mean_lab

    image, mask = photo
    inp = INPAINTERS.build("face_gan")
    res = {}
    for tone in ("dark", "light"):
        cond = TextCondition(prompt="a face", category="face", attributes={"tone": tone})
        res[tone] = inp.inpaint(image, mask, cond, torch.Generator().manual_seed(1))
    none = inp.inpaint(image, mask, TextCondition(category="face"), torch.Generator().manual_seed(1))
    assert not torch.equal(res["dark"], none)
    assert mean_lab(res["light"], mask)[0] > mean_lab(res["dark"], mask)[0] + 10


@needs_gan
def test_shading_attributes_light_the_face_from_the_side_asked(photo):
    """``shade_x`` tells the generator which half of the removed face is brighter."""
    import cv2

    from vlm_privsc.semantics.attributes import shading

    image, mask = photo
    inp = INPAINTERS.build("face_gan")
    m = mask[0, 0].numpy()
    got = {}
    for side in ("left", "right"):
        cond = TextCondition(prompt="a face", category="face", attributes={"tone": "medium", "shade_x": side})
        out = inp.inpaint(image, mask, cond, torch.Generator().manual_seed(1))
        lab = cv2.cvtColor(np.ascontiguousarray(out[0].permute(1, 2, 0).numpy()), cv2.COLOR_RGB2Lab)
        got[side] = shading(lab, m, "shade_x")
    assert got["right"] > got["left"] + 8


def test_router_picks_the_generator_of_the_recovered_category(photo):
    image, mask = photo
    r = GenerativeInpainter()
    assert r.backend_for("face") == "face_gan" and r.backend_for("text") == "patchmatch"
    assert r.backend_for("license_plate") == "blank"
    assert (
        r.backend_for("screen") == "flat"
        and r.backend_for(None) == "pushpull"
        and r.backend_for("tattoo") == "pushpull"
    )
    screen = r.inpaint(image, mask, TextCondition(category="screen"))
    assert float(screen[mask.expand_as(screen)].max()) < 0.1  # a dark blank screen
    unknown = r.inpaint(image, mask, TextCondition(category=None))
    assert torch.allclose(unknown, INPAINTERS.build("pushpull").inpaint(image, mask))
    custom = GenerativeInpainter(routes={"face": {"name": "flat", "params": {"color": [1, 1, 1]}}})
    assert float(custom.inpaint(image, mask, TextCondition(category="face"))[mask.expand_as(image)].min()) == 1.0


def test_router_bad_routes_are_clear_errors():
    with pytest.raises(UnknownNameError, match="unknown inpainter 'nope'"):
        GenerativeInpainter(routes={"face": "nope"})
    with pytest.raises(ConfigError, match="must name another inpainter"):
        GenerativeInpainter(routes={"face": "generative"})
    with pytest.raises(ConfigError, match="color"):
        INPAINTERS.build("flat", color=(2, 0, 0))


def test_patchmatch_copies_texture_from_the_surroundings():
    g = torch.Generator().manual_seed(0)
    stripes = torch.zeros(1, 3, 64, 64)
    stripes[:, :, :, ::4] = 1.0  # vertical stripes everywhere
    mask = torch.zeros(1, 1, 64, 64, dtype=torch.bool)
    mask[..., 24:40, 24:40] = True
    out = INPAINTERS.build("patchmatch").inpaint(stripes, mask, None, g)
    hole = out[0, 0, 24:40, 24:40]
    assert float(hole.std()) > 0.3  # stripes, not a grey average (push-pull would give ~0.25 flat)
    assert torch.equal(out[~mask.expand_as(out)], stripes[~mask.expand_as(out)])


@pytest.mark.parametrize("name, params", [("blank", {}), ("patchmatch", {"pull": True})])
def test_colour_attributes_pull_the_fill_to_the_removed_colour(photo, name: str, params: dict):
    """Bob's attributes move the fill's mean lightness to the removed region's; without them
    (Eve) ``blank`` is push-pull and ``patchmatch`` is unchanged."""
    import cv2

    from vlm_privsc.semantics.attributes import ATTRIBUTES, mean_lab

    image, mask = photo
    inp = INPAINTERS.build(name, **params)
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    eve = inp.inpaint(image, mask, TextCondition(category="license_plate"), g())
    if name == "blank":
        assert torch.allclose(eve, INPAINTERS.build("pushpull").inpaint(image, mask), atol=1 / 255)
    else:
        assert torch.equal(eve, INPAINTERS.build("patchmatch").inpaint(image, mask, None, g()))
    m = mask[0, 0].numpy().astype(np.uint8)
    core = torch.from_numpy(cv2.erode(m, np.ones((25, 25), np.uint8)).astype(bool))[None, None]
    lightness = {}
    for tone in ("dark", "light"):
        bob = inp.inpaint(image, mask, TextCondition(category="license_plate", attributes={"tone": tone}), g())
        lab = mean_lab(bob, core)
        assert lab is not None
        # the core reaches the bin's centre (the weight rises from 0 at the edge: seamless)
        assert abs(lab[0] - ATTRIBUTES["tone"].centre(tone)) < 4
        assert torch.equal(bob[~mask.expand_as(bob)], image[~mask.expand_as(bob)])
        lightness[tone] = float(mean_lab(bob, mask)[0])  # type: ignore[index]
    assert lightness["dark"] + 10 < float(mean_lab(eve, mask)[0]) < lightness["light"] - 10  # type: ignore[index]


def test_missing_generator_weights_are_one_clear_error(tmp_path: Path):
    with pytest.raises(MissingWeightsError, match="gan-face-generate"):
        load_face_generator(str(tmp_path / "none.tar"))
    bad = tmp_path / "bad.tar"
    torch.save({"something": torch.zeros(1)}, bad)
    with pytest.raises(MissingWeightsError, match="not a DCGAN face checkpoint"):
        load_face_generator(str(bad))


def test_condition_text_carries_the_attributes():
    c = TextCondition(prompt="a photo of a face", attributes={"tone": "light"})
    assert c.text() == "a photo of a face, light tone"
    assert TextCondition(prompt="x").text() == "x" and TextCondition().text() is None
