"""Weights resolution: explicit paths, weights folders, the HF cache, and the one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vlm_privsc.errors import InputError, MissingWeightsError
from vlm_privsc.hub import weights as W


def _model_folder(p: Path, marker: str = "config.json") -> Path:
    p.mkdir(parents=True, exist_ok=True)
    (p / marker).write_text("{}")
    (p / "model.safetensors").write_bytes(b"x")
    return p


def _hf_cache(root: Path, repo_id: str, marker: str = "config.json") -> Path:
    """The layout huggingface_hub leaves behind: refs/main -> snapshots/<commit>/files."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return _model_folder(repo / "snapshots" / commit, marker)


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_explicit_folder_and_errors(tmp_path: Path):
    good = _model_folder(tmp_path / "owl")
    assert W.resolve_folder(str(good), backend="owlv2") == good.resolve()
    with pytest.raises(MissingWeightsError) as e:
        W.resolve_folder(str(tmp_path / "nope"), backend="owlv2")
    assert "does not exist" in _one_line(e) and "params.model" in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MissingWeightsError) as e:
        W.resolve_folder(str(empty), backend="owlv2")
    assert "not a transformers model folder" in _one_line(e) and "config.json" in str(e.value)
    # a diffusers folder needs model_index.json
    with pytest.raises(MissingWeightsError):
        W.resolve_folder(str(good), backend="sd", kind="diffusers")


def test_hub_id_found_in_weights_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    d1, d2 = tmp_path / "w1", tmp_path / "w2"
    a = _model_folder(d1 / "google" / "owlv2-base-patch16-ensemble")
    b = _model_folder(d2 / "grounding-dino-tiny")
    W.set_weights_dir([d1, d2])
    assert os.environ["VLMSC_WEIGHTS_DIR"].split(os.pathsep)[:2] == [str(d1), str(d2)]
    assert W.resolve_folder("google/owlv2-base-patch16-ensemble", backend="owlv2") == a.resolve()
    assert W.resolve_folder("IDEA-Research/grounding-dino-tiny", backend="grounding_dino") == b.resolve()
    # a bare folder name inside a weights folder
    assert W.resolve_folder("grounding-dino-tiny", backend="grounding_dino") == b.resolve()
    W.set_weights_dir(None)
    assert W.weights_dirs() == []
    monkeypatch.setenv("VLMSC_WEIGHTS_DIR", str(d1))
    assert W.resolve_folder("google/owlv2-base-patch16-ensemble", backend="owlv2") == a.resolve()
    with pytest.raises(InputError):
        W.set_weights_dir(tmp_path / "missing")


def test_hub_id_found_in_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cache = tmp_path / "hf"
    snap = _hf_cache(cache, "facebook/sam-vit-base")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert W.resolve_folder("facebook/sam-vit-base", backend="sam_hf") == snap
    # and a copied HF cache inside a weights folder
    wd = tmp_path / "wd"
    snap2 = _hf_cache(wd, "stable-diffusion-v1-5/stable-diffusion-inpainting", marker="model_index.json")
    W.set_weights_dir(wd)
    assert (
        W.resolve_folder("stable-diffusion-v1-5/stable-diffusion-inpainting", backend="sd", kind="diffusers") == snap2
    )


def test_missing_hub_id_message(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(MissingWeightsError) as e:
        W.resolve_folder("google/owlv2-base-patch16-ensemble", backend="owlv2")
    msg = _one_line(e)
    assert msg.startswith("owlv2: weights 'google/owlv2-base-patch16-ensemble' not found locally")
    for part in ("--weights-dir DIR", "VLMSC_WEIGHTS_DIR", "params.model=/path/to/folder", "HF_HUB_OFFLINE"):
        assert part in msg
    # downloads need an explicit opt-in, and HF_HUB_OFFLINE still wins
    W.set_allow_download(True)
    try:
        assert not W.download_allowed()
        monkeypatch.delenv("HF_HUB_OFFLINE")
        assert W.download_allowed()
        assert (
            W.resolve_folder("google/owlv2-base-patch16-ensemble", backend="owlv2")
            == "google/owlv2-base-patch16-ensemble"
        )
    finally:
        W.set_allow_download(False)
    with pytest.raises(MissingWeightsError) as e:
        W.resolve_folder("google/owlv2-base-patch16-ensemble", backend="owlv2")
    assert "VLMSC_ALLOW_DOWNLOAD=1" in _one_line(e)


def test_resolve_file(tmp_path: Path):
    f = tmp_path / "sam_vit_b_01ec64.pth"
    f.write_bytes(b"x")
    assert W.resolve_file(str(f), backend="sam") == f.resolve()
    with pytest.raises(MissingWeightsError) as e:
        W.resolve_file("sam_vit_b_01ec64.pth", backend="sam", url="https://example.org/sam_vit_b_01ec64.pth")
    msg = _one_line(e)
    assert "sam_vit_b_01ec64.pth" in msg and "https://example.org/" in msg and "params.checkpoint" in msg
    assert W.resolve_file("sam_vit_b_01ec64.pth", backend="sam", extra_dirs=[tmp_path]) == f.resolve()
    W.set_weights_dir(tmp_path)
    assert W.resolve_file("sam_vit_b_01ec64.pth", backend="sam") == f.resolve()
    with pytest.raises(MissingWeightsError, match="does not exist"):
        W.resolve_file(str(tmp_path / "other.pth"), backend="sam")


def test_backends_fail_at_build_with_one_line():
    """Building any hub backend without its weights is one MissingWeightsError line naming
    the id or file and how to provide it (never a fallback to something else)."""
    import vlm_privsc.hub  # noqa: F401
    from vlm_privsc.guard.detectors import DETECTORS
    from vlm_privsc.guard.segmenters import SEGMENTERS
    from vlm_privsc.inpaint import INPAINTERS
    from vlm_privsc.semantics import EMBEDDERS

    cases = [
        (DETECTORS, "owlv2", "google/owlv2-base-patch16-ensemble"),
        (DETECTORS, "grounding_dino", "IDEA-Research/grounding-dino-tiny"),
        (SEGMENTERS, "sam", "sam_vit_b_01ec64.pth"),
        (SEGMENTERS, "sam_hf", "facebook/sam-vit-base"),
        (EMBEDDERS, "clip", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"),
        (INPAINTERS, "sd", "stable-diffusion-v1-5/stable-diffusion-inpainting"),
    ]
    for reg, name, needle in cases:
        with pytest.raises(MissingWeightsError) as e:
            reg.build(name)
        msg = _one_line(e)
        assert msg.startswith(f"{name}: ") and needle in msg, msg
        assert "--weights-dir" in msg and "VLMSC_WEIGHTS_DIR" in msg


HEAVY = ("transformers", "diffusers", "open_clip", "segment_anything")


def test_hub_modules_import_heavy_libraries_lazily():
    """No module of the hub package imports a heavy library at its top level."""
    import ast

    import vlm_privsc.hub

    for f in sorted(Path(vlm_privsc.hub.__file__).parent.glob("*.py")):
        for node in ast.parse(f.read_text()).body:  # top-level statements only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n.split(".")[0] in HEAVY], f"{f.name}: {names}"


@pytest.mark.slow
def test_hub_import_is_light():
    """Importing the hub package must not import the heavy libraries (fast CLI start)."""
    import subprocess
    import sys

    code = (
        "import sys, vlm_privsc.hub, vlm_privsc.hub.cli; "
        "print(sorted(m for m in ('transformers', 'diffusers', 'open_clip', 'segment_anything') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
