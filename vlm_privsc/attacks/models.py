"""The eavesdropper's models: a model-inversion attacker and a classifier on intercepted symbols.

Threat model (the seed papers' model-inversion attack): Eve intercepts the symbols on
her own channel, knows the public architecture and every public parameter (e.g. the
LBVQ codebook), but no key; she trains her models on pairs (auxiliary image,
intercepted symbols) obtained by querying the transmitter with her own images (a
disjoint data split), then attacks unseen test images. Her inversion network has the
architecture of the legitimate image decoder (:class:`ImageDecoder`, also used by
:class:`vlm_privsc.schemes.models.TaskJSCC`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vlm_privsc.errors import ConfigError


def symbols_to_reals(y: Tensor) -> Tensor:
    """Complex ``[B,k]`` -> real ``[B, 2k]`` (I and Q interleaved)."""
    return torch.view_as_real(y.to(torch.complex64)).reshape(y.shape[0], -1)


def reals_to_symbols(f: Tensor) -> Tensor:
    """Real ``[B, 2k]`` -> complex ``[B, k]``."""
    return torch.view_as_complex(f.float().reshape(f.shape[0], -1, 2).contiguous())


class ImageDecoder(nn.Module):
    """Symbols ``[B,k]`` -> image ``[B,C,S,S]`` in [0,1] (the legitimate decoder; also the
    architecture of the model-inversion attacker, who knows the public design)."""

    def __init__(self, k: int, out_channels: int = 3, image_size: int = 32, width: int = 32) -> None:
        super().__init__()
        if image_size % 4:
            raise ConfigError(f"image_size must be a multiple of 4, got {image_size}")
        self.k, self.out_channels, self.image_size, self.width = k, out_channels, image_size, width
        s = image_size // 4
        self.fc = nn.Sequential(nn.Linear(2 * k, 2 * width * s * s), nn.PReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
            nn.PReLU(),
            nn.ConvTranspose2d(width, out_channels, 4, 2, 1),
        )

    def forward(self, y: Tensor) -> Tensor:
        s = self.image_size // 4
        f = self.fc(symbols_to_reals(y)).reshape(y.shape[0], 2 * self.width, s, s)
        return torch.sigmoid(self.up(f))


class Classifier(nn.Module):
    """Symbols ``[B,k]`` -> class logits (a two-layer MLP on the real view)."""

    def __init__(self, k: int, num_classes: int = 10, hidden: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 * k, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )

    def forward(self, y: Tensor) -> Tensor:
        return self.net(symbols_to_reals(y))


class InversionAttacker(ImageDecoder):
    """Model-inversion attacker: intercepted symbols ``[B,k]`` -> image ``[B,C,S,S]``."""


class EavesdropperClassifier(Classifier):
    """Eve's classifier: intercepted symbols ``[B,k]`` -> class logits."""
