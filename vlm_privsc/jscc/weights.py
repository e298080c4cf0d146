"""Saving and loading DeepJSCC weights (safetensors + a JSON of metadata beside them).

The default weights ship inside the package (``vlm_privsc/weights/jscc_<name>.safetensors``),
found next to ``__file__`` so that an installed wheel works (deface style). The
architecture travels in the safetensors metadata (key ``vlmsc_jscc_config``), so a
file alone rebuilds its model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from vlm_privsc.errors import InputError, MissingWeightsError
from vlm_privsc.jscc.models import DeepJSCC, JSCCConfig

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
PREFIX = "jscc_"
DEFAULT_MODEL = "resjscc-r1_6"
"""The photo codec (issue 13): above ``adjscc-r1_6`` on Kodak at every SNR (eval/results/jscc/README.md)."""
# the model that ``vlmsc bench jscc --ratio R`` (and anything asking for "the model at ratio R") picks
DEFAULT_BY_RATIO: dict[str, str] = {"1/6": DEFAULT_MODEL, "1/12": "resjscc-r1_12"}
SMALL_SIDE = 64
"""Images whose shorter side is below this many pixels use the small-image default instead: the
photo codec's stride 16 leaves a 32x32 image a 2x2 latent (CIFAR-10 at 10 dB: 27.1 dB against
the stride-4 ``adjscc-r1_6``'s 28.4)."""
SMALL_DEFAULT_BY_RATIO: dict[str, str] = {"1/6": "adjscc-r1_6", "1/12": "adjscc-r1_12"}
CONFIG_KEY = "vlmsc_jscc_config"
FORMAT = "vlmsc-jscc-1"

# How to train a replacement for each shipped model in one run of about the same total
# length. The shipped files came from warm-started chains of shorter runs (the exact
# commands and numbers are in eval/results/jscc/README.md and in each file's JSON); a
# single run of this length was not itself measured.
TRAIN_COMMANDS: dict[str, str] = {
    "adjscc-r1_6": "vlmsc train jscc --ratio 1/6 --steps 60000 --photo-fraction 0.2 --export vlm_privsc/weights",
    "adjscc-r1_12": "vlmsc train jscc --ratio 1/12 --steps 30000 --photo-fraction 0.2 "
    "--init vlm_privsc/weights/jscc_adjscc-r1_6.safetensors --export vlm_privsc/weights",
    "resjscc-r1_6": "vlmsc train jscc --arch resjscc --ratio 1/6 --steps 100000 --warmup 200 --lr 2e-4 "
    "--clip-grad 1.0 --batch-pixels 65536 --threads 1 --hours 1.4 --export vlm_privsc/weights",
    "resjscc-r1_12": "vlmsc train jscc --arch resjscc --ratio 1/12 --steps 100000 --warmup 200 --lr 3e-4 "
    "--clip-grad 1.0 --batch-pixels 65536 --threads 1 --hours 0.9 --seed 5 "
    "--init vlm_privsc/weights/jscc_resjscc-r1_6.safetensors --export vlm_privsc/weights",
}


def default_for_ratio(ratio: str, size: tuple[int, int] | None = None) -> str:
    """The shipped model picked for bandwidth ratio ``ratio`` (e.g. ``"1/6"``), for images of
    ``size`` (h, w): photos (or ``size`` None) get the photo codec, images whose shorter side
    is below :data:`SMALL_SIDE` the small-image one."""
    from vlm_privsc.channel.base import parse_ratio

    r = parse_ratio(ratio)
    key = f"{r.numerator}/{r.denominator}"
    table = SMALL_DEFAULT_BY_RATIO if size is not None and min(size) < SMALL_SIDE else DEFAULT_BY_RATIO
    return table.get(key, f"adjscc-r{r.numerator}_{r.denominator}")


def weights_path(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Path of the weights file for model ``name`` (``jscc_<name>.safetensors``)."""
    return Path(folder or WEIGHTS_DIR) / f"{PREFIX}{name}.safetensors"


def save_model(
    model: DeepJSCC,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write ``model`` to ``path`` (safetensors, ``dtype``: fp32 or fp16 to halve the file) and
    ``metadata`` + config to ``path.json``. :func:`load_model` always rebuilds an fp32 model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    cfg = json.dumps(model.config.to_dict(), sort_keys=True)
    save_file(state, str(path), metadata={CONFIG_KEY: cfg, "format": FORMAT})
    meta = {
        "format": FORMAT,
        "config": model.config.to_dict(),
        "ratio": str(model.ratio),
        "parameters": int(sum(v.numel() for v in state.values())),
        **(metadata or {}),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
    return path


def load_model(path: str | os.PathLike[str], device: str | torch.device = "cpu", strict: bool = True) -> DeepJSCC:
    """Rebuild a model from a weights file written by :func:`save_model` (eval mode)."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"JSCC weights file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises several kinds
        raise InputError(f"cannot read JSCC weights {path}: {exc}") from None
    if CONFIG_KEY not in meta:
        raise InputError(f"{path} has no '{CONFIG_KEY}' metadata; it was not written by vlm_privsc.jscc.save_model")
    model = DeepJSCC(JSCCConfig.from_dict(json.loads(meta[CONFIG_KEY])))
    missing, unexpected = model.load_state_dict(state, strict=strict)
    if strict is False and unexpected:
        raise InputError(f"{path}: unexpected tensors {unexpected[:5]}")
    return model.to(device).eval()


def list_pretrained(folder: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the shipped (or locally trained) models, e.g. ``['adjscc-r1_12', 'adjscc-r1_6']``."""
    d = Path(folder or WEIGHTS_DIR)
    if not d.is_dir():
        return []
    return sorted(p.stem[len(PREFIX) :] for p in d.glob(f"{PREFIX}*.safetensors"))


def load_pretrained(name: str | None = None, device: str | torch.device = "cpu") -> DeepJSCC:
    """Load a shipped model by name (default :data:`DEFAULT_MODEL`) in eval mode.

    Raises :class:`~vlm_privsc.errors.MissingWeightsError` naming the missing file and the
    command that trains it.
    """
    name = name or DEFAULT_MODEL
    path = weights_path(name)
    if not path.is_file():
        have = ", ".join(list_pretrained()) or "none"
        how = TRAIN_COMMANDS.get(name, "vlmsc train jscc --ratio 1/6 --export vlm_privsc/weights")
        raise MissingWeightsError(f"JSCC weights {path} not found (available: {have}); train them with: {how}")
    return load_model(path, device=device)


def read_metadata(name: str | None = None) -> dict[str, Any]:
    """The JSON metadata beside a shipped model (training command, steps, PSNR, ...)."""
    p = weights_path(name or DEFAULT_MODEL).with_suffix(".json")
    if not p.is_file():
        raise MissingWeightsError(f"JSCC metadata {p} not found")
    return json.loads(p.read_text())
