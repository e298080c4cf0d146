"""Device and dtype choices shared by the hub backends.

``device="auto"`` picks the accelerator accelerate would (CUDA, then Apple MPS, else CPU);
``dtype="auto"`` is float16 on CUDA and float32 elsewhere (half precision on CPU is slow
and partly unsupported). Both can be forced per backend through its params.
"""

from __future__ import annotations

from typing import Any

import torch

from vlm_privsc.errors import ConfigError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` -> the available accelerator (accelerate's choice when it is installed)."""
    if device is None or str(device) == "auto":
        try:
            from accelerate import PartialState

            return torch.device(PartialState().device)
        except Exception:  # accelerate missing or not initialisable here
            if torch.cuda.is_available():
                return torch.device("cuda")
            mps = getattr(torch.backends, "mps", None)
            if mps is not None and mps.is_available():
                return torch.device("mps")
            return torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"invalid device {device!r}: {exc}") from None


def pick_dtype(dtype: str | torch.dtype | None, device: torch.device, backend: str = "") -> torch.dtype:
    """``auto`` -> float16 on CUDA, float32 elsewhere; otherwise the named dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[str(dtype).lower()]
    except KeyError:
        who = f"{backend}: " if backend else ""
        raise ConfigError(f"{who}invalid dtype {dtype!r}; valid: auto, {', '.join(sorted(set(_DTYPES)))}") from None


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def dtype_kwarg(library: str, dtype: torch.dtype) -> dict[str, Any]:
    """The ``from_pretrained`` dtype keyword: ``dtype`` from transformers 5 / diffusers 1,
    ``torch_dtype`` before (where the new name is unknown or only deprecated-aliased)."""
    import importlib

    mod = importlib.import_module(library)
    if library == "transformers":
        new = _major(getattr(mod, "__version__", "0")) >= 5
    else:  # diffusers: `dtype` arrived (torch_dtype deprecated) together with _resolve_dtype
        utils = importlib.import_module("diffusers.pipelines.pipeline_utils")
        new = hasattr(utils, "_resolve_dtype") or _major(getattr(mod, "__version__", "0")) >= 1
    return {"dtype": dtype} if new else {"torch_dtype": dtype}
