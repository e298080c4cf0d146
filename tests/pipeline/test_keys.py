"""The shared key, its subkeys, the sealed header, and what the key (and only the key) protects."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_privsc.keys import (
    KEY_ENV,
    KeyError_,
    SharedKey,
    keyed_orthogonal,
    keyed_permutation,
    load_key,
    subkey,
    write_key,
)
from vlm_privsc.semantics.header import RegionInfo, build_header


def test_key_file_roundtrip_mode_and_errors(tmp_path: Path, monkeypatch):
    k = SharedKey.generate()
    p = write_key(k, tmp_path / "bob.key")
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert load_key(p).secret == k.secret and k.secret.hex() not in repr(k)
    with pytest.raises(KeyError_, match="never overwritten"):
        write_key(k, p)
    with pytest.raises(KeyError_, match="not found"):
        load_key(tmp_path / "none.key")
    (tmp_path / "bad.key").write_text("hello")
    with pytest.raises(KeyError_, match="not a vlm-privsc key"):
        load_key(tmp_path / "bad.key")
    (tmp_path / "short.key").write_text("vlmsc-key-v1:abcd")
    with pytest.raises(KeyError_, match="2 bytes"):
        load_key(tmp_path / "short.key")
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(KeyError_, match="vlmsc key new"):
        load_key()
    assert load_key(demo=True).demo
    monkeypatch.setenv(KEY_ENV, str(p))
    assert load_key().secret == k.secret
    monkeypatch.setenv(KEY_ENV, k.to_text())
    assert load_key().secret == k.secret


def test_subkeys_differ_by_purpose_nonce_and_key():
    a, b = SharedKey(b"\1" * 32), SharedKey(b"\2" * 32)
    base = subkey(a, "x", b"n1")
    assert len(base) == 32 and base == subkey(a, "x", b"n1")
    assert len({base, subkey(a, "y", b"n1"), subkey(a, "x", b"n2"), subkey(b, "x", b"n1")}) == 4


def test_keyed_permutation_and_rotation():
    a = SharedKey(b"\1" * 32)
    p = keyed_permutation(a, "shuffle", b"n", 1000)
    assert sorted(p.tolist()) == list(range(1000)) and not torch.equal(p, torch.arange(1000))
    assert torch.equal(p, keyed_permutation(a, "shuffle", b"n", 1000))
    assert not torch.equal(p, keyed_permutation(SharedKey(b"\2" * 32), "shuffle", b"n", 1000))
    # positions are spread: each of 8 items lands in each slot about equally often over nonces
    counts = np.zeros((8, 8))
    for i in range(800):
        counts[np.arange(8), keyed_permutation(a, "t", i.to_bytes(4, "big"), 8).numpy()] += 1
    assert counts.min() > 60 and counts.max() < 140
    q = keyed_orthogonal(a, "text", b"n", 32)
    assert torch.allclose(q @ q.T, torch.eye(32), atol=1e-5)


def _header(key: SharedKey, nonce: bytes = b"\0" * 12, digest: str = "ab" * 32):
    mask = torch.zeros(1, 1, 40, 50, dtype=torch.bool)
    mask[..., 5:20, 10:30] = True
    regions = [RegionInfo((10, 5, 30, 20), 2, {"tone": "light"})]
    return build_header(key, nonce, digest, mask, regions, ("tone", "warmth")), mask, regions


def test_sealed_header_opens_only_with_the_key_and_database():
    k = SharedKey.generate()
    h, mask, regions = _header(k)
    got = h.open(k, "ab" * 32, ("tone", "warmth"))
    assert got == regions and torch.equal(h.mask(), mask)
    assert h.bits()["tag"] == 128 and h.bits()["nonce"] == 96
    with pytest.raises(KeyError_, match="authentication failed"):
        h.open(SharedKey.generate(), "ab" * 32, ("tone", "warmth"))  # wrong key
    with pytest.raises(KeyError_, match="authentication failed"):
        h.open(k, "cd" * 32, ("tone", "warmth"))  # another database
    from dataclasses import replace

    for part in ("clear", "sealed"):  # one flipped bit anywhere is detected
        raw = bytearray(getattr(h, part))
        raw[len(raw) // 2] ^= 0x01
        with pytest.raises(KeyError_, match="authentication failed"):
            replace(h, **{part: bytes(raw)}).open(k, "ab" * 32, ("tone", "warmth"))


def test_two_messages_under_one_key_use_different_nonces():
    from vlm_privsc.pipeline import message_nonce

    k = SharedKey.generate()
    a, b = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    assert message_nonce(k, 0, a) != message_nonce(k, 0, b)
    assert message_nonce(k, 0, a) != message_nonce(k, 1, a)
    assert message_nonce(k, 0, a) == message_nonce(k, 0, a)  # reproducible for a seed
    assert message_nonce(k, 0, a) != message_nonce(SharedKey.generate(), 0, a)


def test_only_the_key_keeps_eve_out(fast_preset: Path):
    """Kerckhoffs: Eve with everything but the key is at chance on the categories and reads no
    attributes; with the key leaked she recovers exactly what Bob does."""
    from vlm_privsc.config import load_preset, override
    from vlm_privsc.pipeline import Pipeline

    key = SharedKey.generate()
    cfg = override(
        load_preset(fast_preset), {"channel": {"snr_db": 30, "eve_snr_db": 30}, "semantic": {"attributes": ["tone"]}}
    )
    img = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    outsider = Pipeline(cfg, key=key).run(img, seed=2, identity=False)
    insider = Pipeline(cfg, key=key, eve_key=key).run(img, seed=2, identity=False)
    assert outsider.metrics.bob_category_ok == 1.0
    assert insider.metrics.eve_category_ok == 1.0
    assert [d.category for d in insider.eve.semantics] == [d.category for d in insider.bob.semantics]
    assert insider.eve.generators == insider.bob.generators
    # without the key: her vector is in an unknown basis (similarity near 0, not ~1)
    assert max(d.similarity for d in outsider.eve.semantics) < 0.6 < min(d.similarity for d in outsider.bob.semantics)


def test_eve_is_at_chance_without_the_key():
    """Over many messages, Eve's category guesses from the keyed vectors are at chance."""
    from tests.semantics.test_transport import BagOfWords
    from vlm_privsc.db import load_db
    from vlm_privsc.semantics.transport import EavesdropperVocabulary, SemanticCodebook

    db, emb = load_db(), BagOfWords()
    cb = SemanticCodebook(db, emb)
    eve = EavesdropperVocabulary(emb, sorted(db.categories))
    key = SharedKey.generate()
    rng = np.random.default_rng(0)
    hits, n = 0, 400
    for i in range(n):
        cat = cb.names[rng.integers(len(cb.names))]
        rot = cb.rotation(key, i.to_bytes(12, "big"))
        hits += eve.receive(cb.transmit([cat], rot), 1)[0].category == cat
    chance = 1 / len(cb.names)
    assert abs(hits / n - chance) < 4 * (chance * (1 - chance) / n) ** 0.5 + 0.02


def test_keys_never_reach_reports_or_logs(fast_preset: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from vlm_privsc.cli import app

    runner = CliRunner()
    kf = tmp_path / "bob.key"
    res = runner.invoke(app, ["key", "new", "--out", str(kf)])
    assert res.exit_code == 0, res.output
    secret = load_key(kf).secret.hex()
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["run", "--image", "skimage:astronaut", "--preset", str(fast_preset), "--key", str(kf), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert secret not in res.output and secret not in (res.stderr or "")
    for f in out.iterdir():
        assert secret.encode() not in f.read_bytes()
    assert "PUBLIC demo key" not in res.stderr
    # no key at all: one line, exit 2, nothing written; another key at Bob: refused
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    res = runner.invoke(
        app,
        ["run", "--image", "skimage:astronaut", "--preset", str(fast_preset), "--out", str(tmp_path / "o2")],
        env=env,
    )
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and "vlmsc key new" in lines[0] and not (tmp_path / "o2").exists()
    other = tmp_path / "other.key"
    runner.invoke(app, ["key", "new", "--out", str(other)])
    res = runner.invoke(
        app,
        [
            "run",
            "--image",
            "skimage:astronaut",
            "--preset",
            str(fast_preset),
            "--key",
            str(kf),
            "--bob-key",
            str(other),
            "--out",
            str(tmp_path / "o3"),
        ],
    )
    assert res.exit_code == 2 and "header authentication failed" in res.stderr and not (tmp_path / "o3").exists()
    res = runner.invoke(
        app,
        [
            "run",
            "--image",
            "skimage:astronaut",
            "--preset",
            str(fast_preset),
            "--demo-key",
            "--out",
            str(tmp_path / "o4"),
        ],
    )
    assert res.exit_code == 0 and "PUBLIC demo key" in res.stderr


def test_an_insider_eve_holds_the_database_but_not_the_key(fast_preset: Path):
    """The insider Eve knows the transmitter's own database: without the key she is still in
    the dark on the text channel; with it she reads exactly what Bob reads."""
    from vlm_privsc.config import load_preset, override
    from vlm_privsc.pipeline import Pipeline

    key = SharedKey.generate()
    cfg = override(
        load_preset(fast_preset),
        {
            "channel": {"snr_db": 30, "eve_snr_db": 30},
            "semantic": {"attributes": ["tone"]},
            "eavesdropper": {"insider": True},
        },
    )
    img = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    no_key = Pipeline(cfg, key=key).run(img, seed=2, identity=False)
    assert no_key.channel.eve_insider is True and no_key.channel.eve_holds_key is False
    assert max(d.similarity for d in no_key.eve.semantics) < 0.6 < min(d.similarity for d in no_key.bob.semantics)
    leaked = Pipeline(cfg, key=key, eve_key=key).run(img, seed=2, identity=False)
    assert [d.category for d in leaked.eve.semantics] == [d.category for d in leaked.bob.semantics]
    assert leaked.eve.generators == leaked.bob.generators and leaked.metrics.eve_category_ok == 1.0


def _ellipse(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    import cv2

    m = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = box
    cv2.ellipse(m, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 1, -1)
    return m.astype(bool)


def test_eve_guesses_categories_from_the_clear_mask_shape():
    """The mask is public, and the default database says how each category is drawn: Eve
    tells an ellipse (face) from a wide box (plate), a wider one (text) and a segment (person)."""
    from vlm_privsc.db import load_db
    from vlm_privsc.semantics.shape import guess_category, shape_accuracy

    cats = load_db().categories
    face = _ellipse(200, 200, (50, 40, 130, 150))
    plate = np.zeros((200, 300), bool)
    plate[80:120, 50:190] = True  # 3.5 : 1
    line = np.zeros((200, 400), bool)
    line[80:100, 20:300] = True  # 14 : 1
    person = _ellipse(300, 200, (70, 10, 130, 80)) | _ellipse(300, 200, (40, 70, 160, 290))
    assert [guess_category(m, cats) for m in (face, plate, line, person)] == ["face", "license_plate", "text", "person"]
    assert guess_category(np.zeros((5, 5), bool), cats) is None
    both = face.copy()
    assert shape_accuracy(("face",), [face], [both], cats) == 1.0
    assert shape_accuracy(("text",), [face], [both], cats) == 0.0
    assert shape_accuracy((), [], [], cats) is None


def test_eve_picks_her_generators_from_the_mask_shape(fast_preset: Path):
    """The strongest Kerckhoffs Eve (the default) reads each region's category from the
    clear mask's shape and draws with that category's generator; the text channel, still
    at chance for her, is measured on its own. ``category_from: text`` is the weaker Eve."""
    from vlm_privsc.config import load_preset, override
    from vlm_privsc.db import load_db
    from vlm_privsc.pipeline import Pipeline, _components
    from vlm_privsc.semantics.shape import guess_category

    key = SharedKey.generate()
    cfg = override(load_preset(fast_preset), {"channel": {"snr_db": 30, "eve_snr_db": 30}})
    img = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    strong = Pipeline(cfg, key=key).run(img, seed=2, identity=False)
    weak = Pipeline(override(cfg, {"eavesdropper": {"category_from": "text"}}), key=key).run(
        img, seed=2, identity=False
    )
    regions = [m[0, 0].numpy() for m in _components(strong.mask)]
    assert regions and len(strong.eve.semantics) == len(regions)
    cats = load_db().categories
    assert [d.category for d in strong.eve.semantics] == [guess_category(r, cats) for r in regions]
    assert {d.source for d in strong.eve.semantics} == {"shape"} and {d.source for d in weak.eve.semantics} == {"text"}
    route = Pipeline(cfg, key=key).load().eve_inpainter.backend_for
    assert strong.eve.generators == tuple(route(d.category) for d in strong.eve.semantics)
    # her text-channel score is the same measurement for both Eves; only her choice differs
    assert strong.metrics.eve_category_ok == weak.metrics.eve_category_ok
    assert strong.metrics.eve_category_from_shape_ok == weak.metrics.eve_category_from_shape_ok
    # deterministic for a seed
    assert torch.equal(strong.eve.restored, Pipeline(cfg, key=key).run(img, seed=2, identity=False).eve.restored)
