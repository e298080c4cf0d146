"""A CIFAR-style residual trunk for the stronger task-oriented JSCC encoder.

K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image Recognition",
CVPR 2016 (Sec. 4.2, the CIFAR-10 networks): a 3x3 stem, three stages of ``blocks``
basic blocks at widths ``w, 2w, 4w`` (stride 2 between stages), BatchNorm and ReLU.
``blocks=3, width=16`` is ResNet-20 (0.27 M parameters); ``blocks=1`` is ResNet-8.
The JSCC bottleneck (:class:`vlm_privsc.schemes.models.TaskJSCC`) follows the trunk's
global average pool, so the channel carries a compact learned latent.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from vlm_privsc.errors import ConfigError

__all__ = ["BasicBlock", "ResNetTrunk"]


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetTrunk(nn.Module):
    """Images ``[B,C,S,S]`` -> pooled features ``[B, 4*width]`` (He et al. 2016, CIFAR ResNet)."""

    def __init__(self, in_channels: int = 3, width: int = 16, blocks: int = 3) -> None:
        super().__init__()
        if width <= 0 or blocks <= 0:
            raise ConfigError(f"ResNetTrunk needs width > 0 and blocks > 0, got width={width}, blocks={blocks}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        cin = width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for j in range(blocks):
                layers.append(BasicBlock(cin, cout, 2 if (j == 0 and stage > 0) else 1))
                cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        self.out_features = cin

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
