"""The pipeline benchmark (scripts/bench_pipeline.py) reads every option it declares (``--key`` was once declared after parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlm_privsc.keys import KeyError_, SharedKey, load_key, write_key


def _script():
    from vlm_privsc.evaluation.bench import pipeline

    return pipeline


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
