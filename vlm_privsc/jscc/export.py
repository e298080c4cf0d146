"""Export a ``vlmsc train jscc`` checkpoint (``OUT/NAME/checkpoint``) as a weights file with the
run's record (command, steps, history), e.g. to warm-start a changed architecture with ``--init``
from a run that was stopped by hand. Tensors the current architecture has and the checkpoint lacks
keep their (identity) initialisation and are listed under ``"new_tensors"``.

    python scripts/jscc_checkpoint_to_weights.py runs/jscc_v2/resjscc-r1_6/checkpoint \\
        runs/jscc_v2/stage1/jscc_resjscc-r1_6-stage1.safetensors --arch resjscc --ratio 1/6
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from vlm_privsc.jscc.models import (
    DeepJSCC,
    default_config,
    latent_channels_for_ratio,
    stride_of,
)
from vlm_privsc.jscc.weights import save_model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--arch", default="resjscc")
    ap.add_argument("--ratio", default="1/6")
    a = ap.parse_args(argv)
    ck = Path(a.checkpoint)
    model = DeepJSCC(default_config(a.arch, latent_channels_for_ratio(a.ratio, stride_of(a.arch))))
    missing, unexpected = model.load_state_dict(load_file(str(ck / "model.safetensors")), strict=False)
    if unexpected:
        raise SystemExit(f"checkpoint tensors unknown to this architecture: {unexpected[:5]}")
    st = torch.load(ck / "custom_checkpoint_0.pkl", weights_only=False)
    hist = json.loads(st["history"])
    meta = {
        "name": Path(a.out).stem.removeprefix("jscc_"),
        "trained_with": json.loads(st["runs"])[0]["command"],
        "runs": json.loads(st["runs"]),
        "steps": int(st["step"]),
        "images_seen": int(st["images"]),
        "pixels_seen": int(st["pixels"]),
        "train_seconds": round(float(st["seconds"]), 1),
        "history": hist,
        "eval_lossless_cifar10_test": {
            "psnr_db": {k: v for k, v in hist[-1].items() if k.startswith("awgn")} if hist else {}
        },
        "stopped_by": "hand (checkpoint exported by scripts/jscc_checkpoint_to_weights.py)",
        "new_tensors": sorted(missing),
    }
    p = save_model(model, a.out, meta, dtype=torch.float32)
    print(f"wrote {p}: step {meta['steps']}, {len(missing)} new tensors")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
