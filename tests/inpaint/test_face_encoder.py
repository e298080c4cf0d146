"""The face_gan latent encoder: its inputs, its training (resumable, exported) and its use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_privsc.errors import MissingWeightsError
from vlm_privsc.inpaint import TextCondition
from vlm_privsc.inpaint.face_encoder import COND, condition_vector, load_face_encoder
from vlm_privsc.inpaint.face_gan import FaceGANInpainter
from vlm_privsc.io.images import to_tensor

needs_gan = pytest.mark.skipif(not FaceGANInpainter.availability()[0], reason="gan-face-generate not installed")


def test_condition_vector_says_whether_anything_was_received():
    none = condition_vector({}, {})
    assert none.shape == (COND,) and float(none.abs().sum()) == 0.0
    told = condition_vector({0: 75.0, 1: 12.0}, {"shade_x": -8.0})
    assert float(told[-1]) == 1.0
    assert float(told[0]) == pytest.approx(0.5) and float(told[3]) == pytest.approx(-0.4)


@needs_gan
def test_synthetic_batches_look_like_what_the_receiver_sees():
    from vlm_privsc.inpaint.face_encoder_train import synth_batch
    from vlm_privsc.inpaint.face_gan import load_face_generator

    G = load_face_generator()
    b = synth_batch(G, 16, torch.Generator().manual_seed(0), drop=0.5)
    assert b.frame.shape == (16, 4, 64, 64) and b.cond.shape == (16, COND)
    vis = b.visible
    assert 0.02 < float(vis.mean()) < 0.5  # the ellipse hides most of the frame, the corners show
    # public pixels are the sample's own; the hole holds the smooth fill, not the face
    assert torch.allclose(b.frame[:, :3] * vis, b.target * vis)
    hole = (1 - vis).bool().expand_as(b.target)
    assert not torch.allclose(b.frame[:, :3][hole], b.target[hole], atol=0.05)
    told = b.cond[:, -1] > 0
    assert 0 < int(told.sum()) < 16  # some rows keep their attributes, some are dropped
    assert float(b.cond[~told].abs().sum()) == 0.0


@needs_gan
def test_training_resumes_and_exports(tmp_path: Path):
    from vlm_privsc.inpaint.face_encoder_train import train_face_encoder

    kw = dict(batch=4, lr=1e-3, seed=0, out=tmp_path / "run", hours=None, eval_every=2, command="test", log=False)
    first = train_face_encoder(steps=2, export=None, resume=False, **kw)
    assert first.steps == 2 and (tmp_path / "run" / "checkpoint.pt").is_file()
    out = tmp_path / "enc.safetensors"
    second = train_face_encoder(steps=4, export=out, resume=True, **kw)
    assert second.steps == 4 and [h["step"] for h in second.history] == [2.0, 4.0]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["steps"] == 4 and np.isfinite(meta["reference_best_of_12_random_hole_psnr"])
    enc = load_face_encoder(str(out))
    z = enc(torch.rand(2, 4, 64, 64), torch.zeros(2, COND))
    assert z.shape == (2, 100, 1, 1)


def test_missing_encoder_weights_are_one_clear_error(tmp_path: Path):
    with pytest.raises(MissingWeightsError, match="train them with"):
        load_face_encoder(str(tmp_path / "nothing.safetensors"))


@pytest.fixture(scope="module")
def encoder_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A briefly trained encoder (a real one, shipped or not, is not needed for behaviour)."""
    from vlm_privsc.inpaint.face_encoder_train import train_face_encoder

    d = tmp_path_factory.mktemp("enc")
    out = d / "enc.safetensors"
    train_face_encoder(
        steps=3, batch=4, lr=1e-3, seed=1, out=d / "run", export=out, hours=None, resume=False,
        eval_every=3, command="test", log=False,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def photo() -> tuple[torch.Tensor, torch.Tensor]:
    import cv2
    import skimage.data

    img = cv2.resize(np.asarray(skimage.data.astronaut()), (192, 192), interpolation=cv2.INTER_AREA)
    m = np.zeros((192, 192), np.uint8)
    cv2.ellipse(m, (82, 42), (22, 28), 0, 0, 360, 1, -1)
    return to_tensor(img), torch.from_numpy(m.astype(bool))[None, None]


@needs_gan
def test_face_gan_with_the_encoder_reads_only_what_was_sent(photo, encoder_file: Path):
    image, mask = photo
    inp = FaceGANInpainter(encoder=str(encoder_file), steps=2)
    assert inp.encoder is not None
    bob = TextCondition(category="face", attributes={"tone": "light", "warmth": "warm", "shade_x": "left"})
    a = inp.inpaint(image, mask, bob, torch.Generator().manual_seed(0))
    other = image.clone()
    other[mask.expand_as(image)] = 0.5
    assert torch.equal(a, inp.inpaint(other, mask, bob, torch.Generator().manual_seed(0)))
    # Bob (attributes) and Eve (none) start from different latents and get different faces
    eve = inp.inpaint(image, mask, TextCondition(category="face"), torch.Generator().manual_seed(0))
    assert not torch.equal(a, eve)
    assert torch.equal(a[~mask.expand_as(a)], image[~mask.expand_as(image)])


@needs_gan
def test_face_gan_encoder_none_uses_the_random_candidates():
    assert FaceGANInpainter(encoder="none").encoder is None


@pytest.mark.parametrize(
    "args, words",
    [
        (["--steps", "0"], "steps must be >= 1"),
        (["--batch", "0"], "batch must be >= 1"),
        (["--lr", "0"], "lr and hours must be > 0"),
        (["--hours", "-1"], "lr and hours must be > 0"),
        (["--export", "enc.pt"], "must name a .safetensors file"),
    ],
)
def test_train_face_encoder_cli_bad_options_are_one_line_exit_2(tmp_path: Path, capsys, args, words):
    from vlm_privsc.cli import main

    assert main(["train", "face-encoder", "--out", str(tmp_path / "run"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vlmsc: error: face-encoder training:") and words in err and "\n" not in err
    assert not (tmp_path / "run").exists()  # nothing written


def test_stage_commands_report_user_errors_as_one_line(tmp_path: Path, capsys):
    """A VlmscError from a stage package's command (here `train jscc`) is one line, exit 2."""
    from vlm_privsc.cli import main

    assert main(["train", "jscc", "--images", str(tmp_path / "missing"), "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vlmsc: error: ") and "does not exist" in err and "internal" not in err
