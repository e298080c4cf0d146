"""Device and dtype choices of the hub backends (float16 on CUDA, float32 elsewhere)."""

from __future__ import annotations

import pytest
import torch

from vlm_privsc.errors import ConfigError
from vlm_privsc.hub.runtime import pick_device, pick_dtype


def test_auto_dtype_is_half_on_cuda_only():
    assert pick_dtype("auto", torch.device("cuda")) is torch.float16  # a device object needs no GPU
    assert pick_dtype(None, torch.device("cuda", 0)) is torch.float16
    assert pick_dtype("auto", torch.device("cpu")) is torch.float32
    assert pick_dtype("bf16", torch.device("cpu")) is torch.bfloat16
    assert pick_dtype(torch.float64, torch.device("cpu")) is torch.float64
    with pytest.raises(ConfigError, match="owlv2: invalid dtype 'int8'"):
        pick_dtype("int8", torch.device("cpu"), "owlv2")


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    expected = {"cuda"} if torch.cuda.is_available() else {"cpu", "mps"}
    assert pick_device("auto").type in expected
    with pytest.raises(ConfigError, match="invalid device"):
        pick_device("warp-drive")
