"""Session fixtures: tiny hub models saved to temporary folders (built once, no downloads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.hub import tiny


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models are overhead-bound: one intra-op thread is as fast, and far faster than
    two when the shared cores are busy (thread spinning); restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _isolated_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the machine's real weights folders, HF cache or download setting."""
    monkeypatch.delenv("VLMSC_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("VLMSC_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def hub_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hub-models")


@pytest.fixture(scope="session")
def owlv2_dir(hub_root: Path) -> Path:
    return tiny.make_owlv2(hub_root / "owlv2")


@pytest.fixture(scope="session")
def gdino_dir(hub_root: Path) -> Path:
    return tiny.make_grounding_dino(hub_root / "gdino")


@pytest.fixture(scope="session")
def sam_hf_dir(hub_root: Path) -> Path:
    return tiny.make_sam_hf(hub_root / "sam-hf")


@pytest.fixture(scope="session")
def sam_ckpt(hub_root: Path) -> Path:
    return tiny.make_sam_checkpoint(hub_root / "sam_tiny.pth")


@pytest.fixture(scope="session")
def clip_dir(hub_root: Path) -> Path:
    return tiny.make_open_clip(hub_root / "open-clip-tiny")


@pytest.fixture(scope="session")
def sd_dir(hub_root: Path) -> Path:
    return tiny.make_sd_inpaint(hub_root / "sd-inpaint")
