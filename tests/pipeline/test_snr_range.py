"""The codec is conditioned on the SNR clamped to its trained range (issue 16, item 4)."""

from __future__ import annotations


def test_eves_result_no_longer_moves_with_an_absurd_bob_snr(fast_preset):
    """The transmitter adapts its code to Bob's SNR (SNR attention), so Eve's picture may
    change with it inside the trained range; beyond it the conditioning is clamped, so Bob
    at 30 and at 60 dB are coded the same and Eve, at her 5 dB, gets the same picture."""
    import torch

    from vlm_privsc.config import load_preset
    from vlm_privsc.pipeline import Pipeline

    pipe = Pipeline(load_preset(fast_preset)).load()
    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    a = pipe.run(img, "x", seed=3, snr_db=30.0, eve_snr_db=5.0)
    b = pipe.run(img, "x", seed=3, snr_db=60.0, eve_snr_db=5.0)
    assert torch.equal(a.eve.decoded, b.eve.decoded)
