"""Text embeddings of the removed content, and their transmission and alignment."""

from vlm_privsc.semantics import minilm  # noqa: F401  (registers minilm)
from vlm_privsc.semantics.base import EMBEDDERS, TextEmbedder

__all__ = ["EMBEDDERS", "TextEmbedder"]
