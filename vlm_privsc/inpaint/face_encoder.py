"""An amortised latent encoder for the DCGAN face prior: what it sees -> a starting latent.

GAN inversion by random candidates plus Adam steps (``face_gan``) fits the ring of public
pixels around a removed face but knows nothing else; this encoder predicts the latent ``z``
of a face that fits both that ring *and* the received attributes (tone, warmth, tint,
side lighting) in one forward pass, in the spirit of the encoder-initialised inversion of
Zhu et al., "Generative Visual Manipulation on the Natural Image Manifold" (ECCV 2016) and
Zhu et al., "In-Domain GAN Inversion for Real Image Editing" (ECCV 2020). It is trained
here on the generator's own samples only (``vlmsc train face-encoder``; no photo of a
real person): a sample is cut by an ellipse the way the guard cuts a face, its hole is
filled by push-pull exactly as the receiver fills it, its attributes are measured and
quantised as the transmitter would send them, and the encoder learns to return a latent
whose face matches the sample; with the attributes dropped at random it also learns the
attribute-less guess an eavesdropper (who has these public weights) can make.

Input: the 64x64 frame of the smooth fill (RGB in [0, 1]) + its visibility mask (1 where
the pixel was public) and the condition vector of :func:`condition_vector`; output
``z [B, 100, 1, 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from vlm_privsc.errors import MissingWeightsError

LATENT = 100
COND = 6  # L*, a*, b* targets, shade_x, shade_y (scaled) and a "told" flag
WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "face_encoder.safetensors"
TRAIN_COMMAND = (
    "vlmsc train face-encoder --steps 3000 --batch 48 --threads 1 --seed 0 "
    "--out runs/face_encoder --export vlm_privsc/weights/face_encoder.safetensors"
)


def condition_vector(target: Mapping[int, float], shade: Mapping[str, float]) -> torch.Tensor:
    """``[COND]``: the received CIELAB targets and shading, scaled to about [-1, 1], with a
    last entry 1 when any attribute was received (0: the encoder's attribute-less mode)."""
    told = bool(target) or bool(shade)
    v = [
        (target.get(0, 50.0) - 50.0) / 50.0 if told else 0.0,
        target.get(1, 0.0) / 50.0,
        target.get(2, 0.0) / 50.0,
        shade.get("shade_x", 0.0) / 20.0,
        shade.get("shade_y", 0.0) / 20.0,
        1.0 if told else 0.0,
    ]
    return torch.tensor(v, dtype=torch.float32)


class FaceLatentEncoder(nn.Module):
    """Frame ``[B,4,64,64]`` (RGB fill + visibility) and condition ``[B,COND]`` -> ``z [B,100,1,1]``."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(4, w, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(4 * w, 2 * w, 4, 2, 1),  # 4x4
            nn.LeakyReLU(0.2, True),
        )
        self.head = nn.Sequential(
            nn.Linear(2 * w * 16 + COND, 256),
            nn.LeakyReLU(0.2, True),
            nn.Linear(256, 256),
            nn.LeakyReLU(0.2, True),
            nn.Linear(256, LATENT),
        )

    def forward(self, frame: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        f = self.features(frame * 2.0 - 1.0).flatten(1)
        return self.head(torch.cat([f, cond], dim=1))[:, :, None, None]


def available(path: str | Path | None = None) -> bool:
    """Whether the encoder's weights are there (shipped as package data)."""
    return Path(path or WEIGHTS).is_file()


@lru_cache(maxsize=2)
def load_face_encoder(path: str | None = None) -> FaceLatentEncoder:
    """The shipped encoder (eval mode, frozen); ``path`` overrides the package file."""
    p = Path(path) if path else WEIGHTS
    if not p.is_file():
        raise MissingWeightsError(
            f"face_gan: latent encoder weights not found at {p}; train them with `{TRAIN_COMMAND}` "
            "(or set the face_gan parameter encoder: none)"
        )
    from safetensors.torch import load_file

    try:
        enc = FaceLatentEncoder()
        enc.load_state_dict(load_file(str(p)))
    except (RuntimeError, OSError, ValueError) as exc:
        raise MissingWeightsError(f"face_gan: {p} is not a face latent encoder ({type(exc).__name__})") from None
    enc.eval()
    for q in enc.parameters():
        q.requires_grad_(False)
    return enc
