"""``accelerate launch`` of ``vlmsc train jscc`` with 2 CPU processes (data-parallel over gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

import vlm_privsc
from vlm_privsc.jscc import load_model

pytestmark = pytest.mark.slow
ROOT = Path(vlm_privsc.__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # accelerate's own --cpu flag starts one process unless MPI is set up; --multi_gpu with
    # ACCELERATE_USE_CPU=1 starts N processes through torch.distributed.run, on gloo
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(_free_port()),
        "-m",
        "vlm_privsc",
        "train",
        "jscc",
        *args,
    ]
    env = {
        **os.environ,
        "ACCELERATE_USE_CPU": "1",
        "OMP_NUM_THREADS": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_two_cpu_processes_train_resume_and_export_once(tmp_path: Path) -> None:
    from skimage import data

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(getattr(data, name)()).resize((64, 48), Image.BICUBIC).save(imgs / f"{name}.png")
    steps, batch = 4, 2
    common = [
        "--images",
        str(imgs),
        "--ratio",
        "1/12",
        "--steps",
        str(steps),
        "--batch",
        str(batch),
        "--warmup",
        "1",
        "--checkpoint-every",
        "2",
        "--eval-every",
        "2",
        "--threads",
        "1",
        "--no-progress",
        "--seed",
        "3",
    ]
    res = _launch(tmp_path, *common, "--out", str(tmp_path / "a"), "--export", str(tmp_path / "wa"))
    assert res.stdout.count("done: ") == 1  # the main process alone reports
    meta = json.loads((tmp_path / "wa" / "jscc_adjscc-r1_12.json").read_text())
    assert meta["steps"] == steps and meta["images_seen"] == 2 * steps * batch  # both processes' batches
    # stopped at step 2 and resumed: the same weights as straight through (each process's crops are reproducible)
    _launch(tmp_path, *common, "--out", str(tmp_path / "b"), "--stop-at", "2")
    _launch(tmp_path, *common, "--out", str(tmp_path / "b"), "--resume", "--export", str(tmp_path / "wb"))
    a = load_model(tmp_path / "wa" / "jscc_adjscc-r1_12.safetensors").state_dict()
    b = load_model(tmp_path / "wb" / "jscc_adjscc-r1_12.safetensors").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and not what one process makes: the second process's gradients were averaged in
    one = tmp_path / "one"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vlm_privsc",
            "train",
            "jscc",
            *common,
            "--out",
            str(one / "r"),
            "--export",
            str(one / "w"),
        ],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "HF_HOME": str(tmp_path / "hf"),
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        },
    )
    c = load_model(one / "w" / "jscc_adjscc-r1_12.safetensors").state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a)
