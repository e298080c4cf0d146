"""Text embeddings of the removed content, and their transmission and alignment."""

from vlm_privsc.backends import EMBEDDERS
from vlm_privsc.semantics.base import TextEmbedder

__all__ = ["EMBEDDERS", "TextEmbedder"]
