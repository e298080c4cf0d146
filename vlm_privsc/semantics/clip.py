"""CLIP text embeddings (open_clip) for the transmitted description of the removed content.

CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision"); open_clip (Ilharco et al. 2021; Cherti et al. 2023, "Reproducible scaling
laws for contrastive language-image learning") provides the models and LAION weights.

::

    texts ──► open_clip tokenizer (77 tokens) ──► text transformer ──► EOT token ──► projection
          ──► L2 normalise ──► [N, embed_dim] (512 for ViT-B-32)

Only the text tower is kept in memory (the image tower is dropped after loading).

Where the weights come from (``params``):

- ``model`` a built-in open_clip name (``ViT-B-32``) with ``pretrained`` a tag
  (``laion2b_s34b_b79k``): the tag's file is looked up in the weights folders
  (``DIR/<org>/<repo>/`` or ``DIR/<repo>/`` holding ``open_clip_model.safetensors`` or
  ``open_clip_pytorch_model.bin``), then in the HF cache; or ``checkpoint`` a file;
- ``model`` a local open_clip folder (``open_clip_config.json`` + weights), or
  ``hf-hub:org/repo`` found in a weights folder or the HF cache.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.hub.base import HubBackend
from vlm_privsc.hub.runtime import pick_device
from vlm_privsc.hub.weights import (
    ENV_WEIGHTS_DIR,
    cached,
    download_allowed,
    hf_cached_file,
    load_error,
    looks_like_path,
    require,
    resolve_file,
    resolve_folder,
    weights_dirs,
    where_searched,
)

#: hub repos of common open_clip tags (so that availability checks need not import
#: open_clip, which takes seconds); other tags are looked up in open_clip itself.
KNOWN_TAGS: dict[tuple[str, str], tuple[str, bool]] = {
    ("ViT-B-32", "laion2b_s34b_b79k"): ("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", False),
    ("ViT-B-32", "openai"): ("timm/vit_base_patch32_clip_224.openai", True),
    ("ViT-B-16", "laion2b_s34b_b88k"): ("laion/CLIP-ViT-B-16-laion2B-s34B-b88K", False),
    ("ViT-B-16", "openai"): ("timm/vit_base_patch16_clip_224.openai", True),
    ("ViT-L-14", "laion2b_s32b_b82k"): ("laion/CLIP-ViT-L-14-laion2B-s32B-b82K", False),
    ("ViT-L-14", "openai"): ("timm/vit_large_patch14_clip_224.openai", True),
    ("ViT-H-14", "laion2b_s32b_b79k"): ("laion/CLIP-ViT-H-14-laion2B-s32B-b79K", False),
}
HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class ClipSource:
    """What to hand to ``open_clip.create_model``."""

    model_name: str
    """``ViT-B-32``, ``local-dir:/path`` or ``hf-hub:org/repo`` (download)."""
    pretrained: str | None = None
    """A weights file for a built-in name, or a tag to download (downloads allowed)."""
    quick_gelu: bool = False

    @property
    def where(self) -> Path | str:
        if self.model_name.startswith("local-dir:"):
            return Path(self.model_name[len("local-dir:") :])
        if self.pretrained and Path(self.pretrained).is_file():
            return Path(self.pretrained)
        return f"{self.model_name}/{self.pretrained}" if self.pretrained else self.model_name


def _builtin_config(name: str) -> dict[str, Any] | None:
    """open_clip's JSON config of a built-in model, read without importing open_clip."""
    try:
        spec = importlib.util.find_spec("open_clip")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    f = Path(list(spec.submodule_search_locations)[0]) / "model_configs" / f"{name.replace('/', '-')}.json"
    return json.loads(f.read_text()) if f.is_file() else None


def _tag_info(model: str, tag: str) -> tuple[str | None, str | None, bool]:
    """``(hub repo, url, quick_gelu)`` of a pretrained tag."""
    if (model, tag) in KNOWN_TAGS:
        repo, qg = KNOWN_TAGS[(model, tag)]
        return repo, None, qg
    open_clip = require("open_clip", "open_clip_torch", "clip")
    cfg = open_clip.get_pretrained_cfg(model, tag) or {}
    if not cfg:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(model)) or "(none)"
        raise ConfigError(f"clip: unknown pretrained tag {tag!r} for {model}; valid: {tags}")
    hub = (cfg.get("hf_hub") or "").rstrip("/") or None
    if hub and hub.count("/") > 1:  # 'org/repo/filename'
        hub = "/".join(hub.split("/")[:2])
    return hub, cfg.get("url") or None, bool(cfg.get("quick_gelu", False))


def _find_tag_file(model: str, tag: str) -> ClipSource:
    repo, url, qg = _tag_info(model, tag)
    if repo:
        org, rname = repo.split("/")
        for d in weights_dirs():
            for folder in (d / org / rname, d / rname):
                for fn in HUB_FILES:
                    if (folder / fn).is_file():
                        return ClipSource(model, str((folder / fn).resolve()), qg)
            for fn in HUB_FILES:
                hit = hf_cached_file(repo, fn, d, None)
                if hit is not None:
                    return ClipSource(model, str(hit), qg)
        for fn in HUB_FILES:
            hit = hf_cached_file(repo, fn, None, None)
            if hit is not None:
                return ClipSource(model, str(hit), qg)
    if url:
        fname = url.rstrip("/").split("/")[-1]
        for d in [*weights_dirs(), Path("~/.cache/clip").expanduser()]:
            if (d / fname).is_file():
                return ClipSource(model, str((d / fname).resolve()), qg)
    if download_allowed():
        return ClipSource(model, tag, qg)
    where = f"hub {repo} ({' or '.join(HUB_FILES)})" if repo else f"{url}"
    put = f"DIR/{repo.split('/')[1]}/" if repo else "DIR/"
    raise MissingWeightsError(
        f"clip: weights of {model}/{tag} ({where}) not found locally ({where_searched()}); put the file in "
        f"{put} with --weights-dir DIR or {ENV_WEIGHTS_DIR}, or pass params.checkpoint=/path/to/file"
    )


def clip_source(
    model: str = "ViT-B-32", pretrained: str | None = "laion2b_s34b_b79k", checkpoint: str | None = None
) -> ClipSource:
    """Resolve the clip backend's params to a :class:`ClipSource` (no download, no heavy import)."""
    if model.startswith("hf-hub:"):
        found = resolve_folder(model[len("hf-hub:") :], backend="clip", kind="open_clip", param="model")
        return ClipSource(f"local-dir:{found}") if isinstance(found, Path) else ClipSource(model)
    if looks_like_path(model):
        found = resolve_folder(model, backend="clip", kind="open_clip", param="model")
        return ClipSource(f"local-dir:{found}")
    cfg = _builtin_config(model)
    if cfg is None:
        if Path(model).name and weights_dirs():
            try:  # a folder name inside a weights folder
                found = resolve_folder(model, backend="clip", kind="open_clip", param="model")
                return ClipSource(f"local-dir:{found}")
            except MissingWeightsError:
                pass
        raise ConfigError(
            f"clip: unknown open_clip model {model!r}: use a built-in name (e.g. ViT-B-32), "
            "a local open_clip folder (open_clip_config.json + weights) or hf-hub:org/repo"
        )
    if checkpoint:
        f = resolve_file(checkpoint, backend="clip", param="checkpoint")
        return ClipSource(model, str(f), bool(cfg.get("quick_gelu", False)) or pretrained == "openai")
    if not pretrained:
        raise ConfigError(
            "clip: give params.pretrained (a tag such as laion2b_s34b_b79k) or params.checkpoint (a file)"
        )
    if looks_like_path(pretrained):
        f = resolve_file(pretrained, backend="clip", param="pretrained")
        return ClipSource(model, str(f), bool(cfg.get("quick_gelu", False)))
    return _find_tag_file(model, pretrained)


class ClipTextEmbedder(HubBackend):
    """CLIP text embeddings through open_clip: ``encode(texts) -> [N, embed_dim]``, L2-normalised.

    Args:
        model: built-in open_clip name, local open_clip folder, or ``hf-hub:org/repo``.
        pretrained: a pretrained tag of the built-in model (or a weights file).
        checkpoint: a weights file for the built-in model (overrides ``pretrained``).
        device: ``auto`` or a torch device string.
        batch_size: texts per forward pass.
    """

    name = "clip"
    requires: ClassVar[tuple[tuple[str, str], ...]] = (("open_clip", "open_clip_torch"),)
    default_weights = "ViT-B-32/laion2b_s34b_b79k"

    def __init__(
        self,
        model: str = "ViT-B-32",
        pretrained: str | None = "laion2b_s34b_b79k",
        *,
        checkpoint: str | None = None,
        device: str = "auto",
        batch_size: int = 64,
    ) -> None:
        self.source = clip_source(model, pretrained, checkpoint)
        self.device = pick_device(device)
        self.batch_size = max(1, int(batch_size))
        self._dim: int | None = None

    @classmethod
    def locate(
        cls,
        model: str = "ViT-B-32",
        pretrained: str | None = "laion2b_s34b_b79k",
        checkpoint: str | None = None,
        **_: Any,
    ) -> Path | str:
        return clip_source(model, pretrained, checkpoint).where

    @classmethod
    def weights_label(
        cls,
        model: str = "ViT-B-32",
        pretrained: str | None = "laion2b_s34b_b79k",
        checkpoint: str | None = None,
        **_: Any,
    ) -> str:
        return checkpoint or (f"{model}/{pretrained}" if pretrained else model)

    @property
    def dim(self) -> int:
        """The embedding size, from the model's config (no weights loaded)."""
        if self._dim is None:
            name = self.source.model_name
            cfg: dict[str, Any] | None = None
            if name.startswith("local-dir:"):
                j = json.loads((Path(name[len("local-dir:") :]) / "open_clip_config.json").read_text())
                cfg = j.get("model_cfg")
            elif not name.startswith("hf-hub:"):
                cfg = _builtin_config(name)
            if cfg and "embed_dim" in cfg:
                self._dim = int(cfg["embed_dim"])
            else:
                self._dim = int(self.encode(["a"]).shape[1])
        return self._dim

    def load(self) -> tuple[Any, Any]:
        """(model with the text tower only, tokenizer), once per process."""
        src = self.source

        def _load() -> tuple[Any, Any]:
            open_clip = require("open_clip", "open_clip_torch", self.name)
            kw: dict[str, Any] = {"precision": "fp32", "device": "cpu"}
            if not src.model_name.startswith(("local-dir:", "hf-hub:")):
                kw["pretrained"] = src.pretrained
                kw["force_quick_gelu"] = src.quick_gelu
            try:
                model = open_clip.create_model(src.model_name, **kw)
                tokenizer = open_clip.get_tokenizer(src.model_name)
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise load_error(self.name, src.where, exc) from None
            if hasattr(model, "visual"):
                model.visual = torch.nn.Identity()  # text embeddings only: free the image tower
            return model.to(self.device).eval(), tokenizer

        return cached((self.name, src, str(self.device)), _load)

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        model, tokenizer = self.load()
        texts = list(texts)
        if not texts:
            return torch.zeros((0, self._dim or 0), dtype=torch.float32)
        out = []
        for s in range(0, len(texts), self.batch_size):
            tokens = tokenizer(texts[s : s + self.batch_size]).to(self.device)
            e = model.encode_text(tokens)
            out.append(torch.nn.functional.normalize(e.float(), dim=-1).cpu())
        emb = torch.cat(out)
        self._dim = int(emb.shape[1])
        return emb
