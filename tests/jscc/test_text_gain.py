"""The text-conditioning experiment's building blocks (claim (b) of the batch evaluation)."""

from __future__ import annotations

import numpy as np
import torch

from vlm_privsc.channel import build_channel
from vlm_privsc.jscc import DeepJSCC, JSCCConfig
from vlm_privsc.jscc.evaluate import evaluate_per_image
from vlm_privsc.jscc.text_gain import FinetuneOptions, finetune_decoder, relative_change, send_class_text, text_decoder


def _table(n: int = 4, d: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)


def _coloured(n: int, classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """16x16 images of one flat colour per class: the class says everything about the image."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    colours = np.array([[230, 20, 20], [20, 230, 20], [20, 20, 230], [230, 230, 20]], np.uint8)[:classes]
    return np.broadcast_to(colours[y][:, None, None, :], (n, 16, 16, 3)).copy(), y


def test_send_class_text_snaps_back_at_high_snr_and_errs_at_very_low():
    table = _table(10, 32)
    labels = np.arange(200) % 10
    awgn = build_channel("awgn")
    good = send_class_text(table, labels, awgn, 20.0, seed=1)
    assert good.accuracy == 1.0
    assert torch.equal(good.embeddings, table[torch.as_tensor(labels)])
    bad = send_class_text(table, labels, awgn, -25.0, seed=1)
    assert 0.0 < bad.accuracy < 0.9
    assert torch.equal(bad.embeddings, table[bad.predicted])
    again = send_class_text(table, labels, awgn, -25.0, seed=1)
    assert torch.equal(again.predicted, bad.predicted)


def test_finetune_is_paired_and_keeps_the_encoder():
    base = DeepJSCC(JSCCConfig(latent_channels=2, channels=(8, 8, 8, 8)))
    x, y = _coloured(64)
    table = _table()
    opts = FinetuneOptions(steps=3, batch=8, warmup=1, seed=3)
    a, b = text_decoder(base, 16), text_decoder(base, 16)
    finetune_decoder(a, x, table[y], build_channel("awgn"), opts)
    finetune_decoder(b, x, table[y], build_channel("awgn"), opts)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name  # same options -> identical training
    for name, p in a.state_dict().items():
        if name.startswith("enc"):
            assert torch.equal(p, base.state_dict()[name]), name  # the encoder is frozen
    assert any(not torch.equal(p, base.state_dict()[k]) for k, p in a.state_dict().items() if k.startswith("dec"))


def test_text_helps_when_the_image_barely_gets_through():
    """At -15 dB the symbols say little; the class colour is recoverable from the text alone."""
    torch.manual_seed(0)
    base = DeepJSCC(JSCCConfig(latent_channels=2, channels=(8, 8, 8, 8)))
    x, y = _coloured(256)
    table = _table()
    ch = build_channel("awgn")
    opts = FinetuneOptions(steps=150, batch=32, lr=1e-2, warmup=10, snr_min=-15, snr_max=-15, seed=0)
    with_text, without = text_decoder(base, 16), text_decoder(base, 16)
    constant = torch.nn.functional.normalize(table.mean(0, keepdim=True), dim=1).expand(len(y), -1)
    finetune_decoder(with_text, x, table[y], ch, opts)
    finetune_decoder(without, x, constant, ch, opts)
    xt, yt = _coloured(64, seed=1)
    p_text, s_text = evaluate_per_image(with_text, xt, ch, -15.0, seed=2, text_emb=table[yt])
    p_none, _ = evaluate_per_image(without, xt, ch, -15.0, seed=2, text_emb=constant[: len(yt)])
    p_wrong, _ = evaluate_per_image(with_text, xt, ch, -15.0, seed=2, text_emb=table[(yt + 1) % 4])
    assert p_text.shape == (64,) and s_text.shape == (64,)
    assert p_text.mean() > p_none.mean() + 3.0
    assert p_wrong.mean() < p_text.mean() - 3.0


def test_relative_change():
    assert relative_change(22.0, 20.0) == 0.1
    assert relative_change(1.0, 0.0) != relative_change(1.0, 0.0)  # nan
