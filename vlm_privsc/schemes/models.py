"""Small task-oriented JSCC models for the scheme reproductions (MNIST / CIFAR-10 sized).

The seed papers use task-oriented semantic communication: an encoder maps the image to
``latent_dim`` real features, sent as ``latent_dim/2`` complex symbols (unit average
power), and the receiver runs a task head (classification) and, for the multi-task
receiver, an image decoder. IBAL needs a variational (information-bottleneck) encoder
(A. Alemi et al., "Deep Variational Information Bottleneck", ICLR 2017).

::

    x [B,C,S,S] -0.5 -> conv3x3/2 w PReLU -> conv3x3/2 2w PReLU -> conv3x3/1 2w PReLU
      -> flatten -> Linear -> latent_dim reals          (variational: mu, logvar -> mu + sigma*eps)
      -> complex [B, latent_dim/2] -> power_normalize (P = 1)  => scheme / channel
    receiver:  y -> reals -> classifier  Linear(latent,256) ReLU Linear(256,256) ReLU Linear(256, classes)
                         -> decoder      Linear -> 2w x S/4 x S/4 -> tconv4x4/2 w PReLU -> tconv4x4/2 C sigmoid

``arch="resnet"`` swaps the 3-conv encoder for a CIFAR ResNet trunk with BatchNorm
(:class:`~vlm_privsc.schemes.resnet.ResNetTrunk`, He et al., CVPR 2016; ``blocks=3,
width=16`` is ResNet-20), the channel bottleneck (``Linear -> latent_dim reals``) after
its global average pool, as in task-oriented JSCC (J. Shao, Y. Mao, J. Zhang, "Learning
task-oriented communication for edge inference", IEEE JSAC 2022). The receiver heads
are unchanged. :meth:`TaskJSCC.config` gives the keyword arguments that rebuild a model
(for checkpoints and warm starts).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vlm_privsc.attacks.models import Classifier, ImageDecoder, reals_to_symbols, symbols_to_reals
from vlm_privsc.channel.base import power_normalize
from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.schemes.resnet import ResNetTrunk

__all__ = ["Classifier", "ImageDecoder", "TaskJSCC", "reals_to_symbols", "symbols_to_reals"]


class TaskJSCC(nn.Module):
    """Task-oriented JSCC: ``encode(x) -> z`` complex ``[B, latent_dim/2]``, ``classify(y)``,
    ``reconstruct(y)`` (when built with ``reconstruct=True``).

    ``variational=True``: the encoder outputs ``(mu, logvar)`` and samples
    ``mu + sigma*eps`` (also at transmit time: the stochastic encoder is part of IBAL's
    protection); ``last_kl`` holds ``mean KL(N(mu, sigma^2) || N(0, 1))`` per dimension.
    """

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 32,
        latent_dim: int = 128,
        num_classes: int = 10,
        reconstruct: bool = False,
        variational: bool = False,
        width: int | None = None,
        arch: str = "cnn",
        blocks: int = 3,
    ) -> None:
        super().__init__()
        if latent_dim <= 0 or latent_dim % 2:
            raise ConfigError(f"latent_dim must be a positive even number (pairs of reals), got {latent_dim}")
        if image_size % 4:
            raise ConfigError(f"image_size must be a multiple of 4, got {image_size}")
        self.in_channels, self.image_size, self.latent_dim = in_channels, image_size, latent_dim
        if arch not in ("cnn", "resnet"):
            raise ConfigError(f"TaskJSCC arch must be 'cnn' or 'resnet', got {arch!r}")
        width = width if width is not None else (32 if arch == "cnn" else 16)
        self.variational = variational
        self._config = dict(
            in_channels=in_channels,
            image_size=image_size,
            latent_dim=latent_dim,
            num_classes=num_classes,
            reconstruct=reconstruct,
            variational=variational,
            width=width,
            arch=arch,
            blocks=blocks,
        )
        s = image_size // 4
        self.features: nn.Module
        if arch == "resnet":
            trunk = ResNetTrunk(in_channels, width, blocks)
            self.features, n_feat = trunk, trunk.out_features
        else:
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, width, 3, 2, 1),
                nn.PReLU(),
                nn.Conv2d(width, 2 * width, 3, 2, 1),
                nn.PReLU(),
                nn.Conv2d(2 * width, 2 * width, 3, 1, 1),
                nn.PReLU(),
                nn.Flatten(),
            )
            n_feat = 2 * width * s * s
        self.to_latent = nn.Linear(n_feat, latent_dim * (2 if variational else 1))
        self.classifier = Classifier(self.k, num_classes)
        self.decoder = ImageDecoder(self.k, in_channels, image_size, width) if reconstruct else None
        self.last_kl: Tensor = torch.zeros(())

    def config(self, **changes: object) -> dict[str, object]:
        """Constructor keyword arguments of this model (``changes`` override some)."""
        return {**self._config, **changes}

    @property
    def k(self) -> int:
        """Complex channel uses per image."""
        return self.latent_dim // 2

    def encode(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Images ``[B,C,S,S]`` in [0,1] -> unit-power complex symbols ``[B, k]``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] != self.image_size:
            raise InputError(
                f"TaskJSCC needs images [B,{self.in_channels},{self.image_size},{self.image_size}], "
                f"got {tuple(x.shape)}"
            )
        f = self.to_latent(self.features(x - 0.5))
        if self.variational:
            mu, logvar = f.chunk(2, dim=1)
            logvar = logvar.clamp(-10, 10)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device)
            f = mu + torch.exp(0.5 * logvar) * eps
            self.last_kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).mean()
        return power_normalize(reals_to_symbols(f))

    def head_parameters(self) -> list[nn.Parameter]:
        """Bob's receiver heads (classifier, and decoder when present): what trains on a frozen encoder."""
        heads = [self.classifier] + ([self.decoder] if self.decoder is not None else [])
        return [p for h in heads for p in h.parameters()]

    def classify(self, y: Tensor) -> Tensor:
        return self.classifier(y)

    def reconstruct(self, y: Tensor) -> Tensor:
        if self.decoder is None:
            raise ConfigError("this TaskJSCC has no image decoder (build it with reconstruct=True)")
        return self.decoder(y)
