"""scripts/bench_pipeline.py reads every option it declares (``--key`` was once declared after parsing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from vlm_privsc.keys import KeyError_, SharedKey, load_key, write_key

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("_script_bench_pipeline", ROOT / "scripts" / "bench_pipeline.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_bench_pipeline_reads_its_key_option(tmp_path: Path, monkeypatch):
    mod = _script()
    with pytest.raises(KeyError_, match="not found"):
        mod.main(["--key", str(tmp_path / "missing.key"), "--repeats", "1", "--threads", "1"])
    seen = []

    class _Stop(Exception):
        pass

    def fake_pipeline(cfg, key):
        seen.append(key)
        raise _Stop

    monkeypatch.setattr("vlm_privsc.pipeline.Pipeline", fake_pipeline)
    kf = write_key(SharedKey.generate(), tmp_path / "bob.key")
    with pytest.raises(_Stop):
        mod.main(["--key", str(kf), "--repeats", "1", "--threads", "1"])
    assert seen[0].fingerprint() == load_key(kf).fingerprint()
