"""CLIP text embeddings (open_clip) from a local folder and from a checkpoint file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.semantics import EMBEDDERS
from vlm_privsc.semantics.clip import ClipTextEmbedder, clip_source

TEXTS = ["a photo of the face of an anonymous person", "a blank licence plate on a car", "a face"]


def test_clip_from_local_folder(clip_dir: Path):
    emb = EMBEDDERS.build("clip", model=str(clip_dir), device="cpu")
    assert isinstance(emb, ClipTextEmbedder)
    assert emb.dim == 16  # from open_clip_config.json, before any weights load
    v = emb.encode(TEXTS)
    assert v.shape == (3, 16) and v.dtype == torch.float32
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(3))
    assert not torch.allclose(v[0], v[1])
    torch.testing.assert_close(emb.encode(TEXTS[:1])[0], v[0])  # batch-independent
    # the same as open_clip's own text tower on open_clip's own tokens
    import open_clip

    model = open_clip.create_model(f"local-dir:{clip_dir}")
    tok = open_clip.get_tokenizer(f"local-dir:{clip_dir}")
    with torch.no_grad():
        ref = torch.nn.functional.normalize(model.encode_text(tok(TEXTS)), dim=-1)
    torch.testing.assert_close(v, ref, atol=1e-5, rtol=1e-5)


def test_clip_builtin_name_with_checkpoint_file(clip_dir: Path, tmp_path: Path):
    """A built-in architecture + a local weights file (random ViT-B-32 weights would be
    too big for a test, so only resolution and the dim are checked here)."""
    f = tmp_path / "open_clip_pytorch_model.bin"
    f.write_bytes(b"x")
    src = clip_source("ViT-B-32", None, checkpoint=str(f))
    assert src.model_name == "ViT-B-32" and src.pretrained == str(f.resolve())
    assert ClipTextEmbedder("ViT-B-32", checkpoint=str(f)).dim == 512
    assert clip_source("ViT-B-32", "openai", checkpoint=str(f)).quick_gelu


def test_clip_tag_found_in_weights_dir_and_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from vlm_privsc.hub.weights import set_weights_dir

    with pytest.raises(MissingWeightsError) as e:
        clip_source("ViT-B-32", "laion2b_s34b_b79k")
    msg = str(e.value)
    assert "\n" not in msg and "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in msg and "params.checkpoint" in msg
    d = tmp_path / "w" / "CLIP-ViT-B-32-laion2B-s34B-b79K"
    d.mkdir(parents=True)
    (d / "open_clip_model.safetensors").write_bytes(b"x")
    set_weights_dir(tmp_path / "w")
    assert clip_source("ViT-B-32", "laion2b_s34b_b79k").pretrained == str((d / "open_clip_model.safetensors").resolve())
    set_weights_dir(None)
    # the HF cache layout huggingface_hub writes
    repo = tmp_path / "hf" / "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K"
    commit = "a" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "open_clip_pytorch_model.bin").write_bytes(b"x")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    assert clip_source("ViT-B-32", "laion2b_s34b_b79k").pretrained.endswith("open_clip_pytorch_model.bin")


def test_clip_config_errors():
    with pytest.raises(ConfigError, match="unknown open_clip model"):
        ClipTextEmbedder("No-Such-Model")
    with pytest.raises(ConfigError, match="pretrained"):
        ClipTextEmbedder("ViT-B-32", None)
