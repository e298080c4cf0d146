"""``accelerate launch --num_processes 2`` of ``vlmsc train jscc`` on CPU (data-parallel, gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import vlm_privsc

pytestmark = pytest.mark.slow
ROOT = Path(vlm_privsc.__file__).resolve().parents[1]


def test_two_cpu_processes_train_export_once(tmp_path: Path) -> None:
    from skimage import data

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(getattr(data, name)()).resize((64, 48), Image.BICUBIC).save(imgs / f"{name}.png")
    steps, batch = 4, 2
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
           "-m", "vlm_privsc", "train", "jscc", "--images", str(imgs), "--ratio", "1/12", "--steps", str(steps),
           "--batch", str(batch), "--warmup", "1", "--checkpoint-every", "2", "--eval-every", "2", "--threads", "1",
           "--no-progress", "--out", str(tmp_path / "runs"), "--export", str(tmp_path / "w")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
           "OMP_NUM_THREADS": "1", "HF_HOME": str(tmp_path / "hf")}  # no user accelerate config
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("done: ") == 1  # one process reports
    meta = json.loads((tmp_path / "w" / "jscc_adjscc-r1_12.json").read_text())
    assert meta["steps"] == steps
    assert meta["images_seen"] == 2 * steps * batch  # both processes' batches
    assert (tmp_path / "runs" / "adjscc-r1_12" / "checkpoint").is_dir()
