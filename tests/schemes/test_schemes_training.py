"""Train-time schemes (IBAL, min-max), training loops, attackers and data loading, on tiny synthetic data."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from vlm_privsc.attacks import (
    EavesdropperClassifier,
    InversionAttacker,
    evaluate_attack,
    ssim_map,
    train_classifier,
    train_inversion,
)
from vlm_privsc.channel import AWGNChannel, RayleighChannel
from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.schemes import (
    IBAL,
    LBVQ,
    LaplaceDP,
    MinMaxTraining,
    TaskJSCC,
    evaluate_link,
    train_ibal,
    train_link,
    train_minmax,
)
from vlm_privsc.schemes.data import load_dataset, load_mnist, synthetic

DATA = synthetic(n_train=256, n_test=128, size=16, seed=0)


def g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tiny(**kw) -> TaskJSCC:
    torch.manual_seed(0)
    return TaskJSCC(3, 16, kw.pop("latent_dim", 16), 10, width=8, **kw)


def params(m: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in m.parameters()])


def test_task_jscc_sends_unit_power_symbols_and_checks_shapes():
    m = tiny(reconstruct=True)
    x = torch.rand(5, 3, 16, 16)
    z = m.encode(x)
    assert z.shape == (5, 8) and torch.is_complex(z)
    assert torch.allclose((z.abs() ** 2).mean(1), torch.ones(5), atol=1e-4)
    assert m.classify(z).shape == (5, 10)
    assert m.reconstruct(z).shape == (5, 3, 16, 16)
    with pytest.raises(InputError):
        m.encode(torch.rand(2, 1, 16, 16))
    with pytest.raises(ConfigError):
        TaskJSCC(latent_dim=7)


def test_train_link_learns_the_synthetic_task_above_chance():
    m = tiny()
    hist = train_link(
        m, DATA.x_train, DATA.y_train, channel=AWGNChannel(), snr_db=15.0, epochs=6, batch_size=32, generator=g()
    )
    assert hist[-1]["loss"] < hist[0]["loss"]
    r = evaluate_link(m, DATA.x_test, DATA.y_test, channel=AWGNChannel(), snr_db=15.0, generator=g(1))
    assert r.accuracy > 0.3 and r.n == 128  # chance is 0.1


def test_train_link_with_dp_and_lbvq_updates_the_codebook():
    m = tiny()
    train_link(
        m,
        DATA.x_train,
        DATA.y_train,
        channel=AWGNChannel(),
        snr_db=15.0,
        scheme=LaplaceDP(epsilon=0.9),
        epochs=1,
        batch_size=64,
        generator=g(),
    )
    vq = LBVQ(16, 2)
    before = vq.codebook.detach().clone()
    train_link(
        m,
        DATA.x_train,
        DATA.y_train,
        channel=AWGNChannel(),
        snr_db=15.0,
        scheme=vq,
        epochs=1,
        batch_size=64,
        generator=g(),
    )
    assert not torch.equal(before, vq.codebook.detach())


def test_ibal_weight_and_loss():
    ib = IBAL(train_snr_db=12.0)
    sigma = math.sqrt(10 ** (-1.2))
    assert ib.sigma == pytest.approx(sigma)
    assert ib.privacy_weight == pytest.approx(1 / (1 + sigma))
    loss = ib.loss(torch.tensor(2.0), torch.tensor(0.5), torch.tensor(0.04))
    assert float(loss) == pytest.approx(2.0 + 0.5 - 0.04 / (1 + sigma))


def test_train_ibal_trains_attacker_and_encoder_every_epoch():
    m = tiny(variational=True)
    att = InversionAttacker(m.k, 3, 16, width=8)
    a0, m0 = params(att), params(m)
    hist = train_ibal(
        m,
        att,
        DATA.x_train,
        DATA.y_train,
        ibal=IBAL(attacker_epochs=0.5),
        channel=AWGNChannel(),
        epochs=2,
        batch_size=64,
        generator=g(),
    )
    assert len(hist) == 2 and all(math.isfinite(h["loss"]) for h in hist)
    assert hist[0]["kl"] > 0
    assert not torch.equal(a0, params(att)) and not torch.equal(m0, params(m))
    with pytest.raises(ValueError, match="variational"):
        train_ibal(tiny(), att, DATA.x_train, DATA.y_train, ibal=IBAL(), channel=AWGNChannel())


def test_minmax_loss_caps_eves_cross_entropy_at_chance():
    mm = MinMaxTraining(privacy_weight=2.0, rec_weight=0.5, num_classes=10)
    lo = mm.loss(torch.tensor(1.0), torch.tensor(0.1), torch.tensor(1.0))
    assert float(lo) == pytest.approx(1.0 - 2.0 * 1.0 + 0.05)
    hi = mm.loss(torch.tensor(1.0), None, torch.tensor(50.0))
    assert float(hi) == pytest.approx(1.0 - 2.0 * math.log(10))


def test_minmax_privacy_weight_ramps_then_stays_flat():
    mm = MinMaxTraining(privacy_weight=2.0, ramp=0.5)
    assert [mm.weight_at(t) for t in (0.0, 0.25, 0.5, 0.9)] == [0.0, 1.0, 2.0, 2.0]
    assert MinMaxTraining(privacy_weight=2.0).weight_at(0.0) == 2.0
    # at the start of the ramp Eve's term is off: the loss is Bob's alone
    assert float(mm.loss(torch.tensor(1.0), None, torch.tensor(2.0), progress=0.0)) == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        MinMaxTraining(ramp=1.5)
    with pytest.raises(ConfigError):
        MinMaxTraining(eve_warmup=-1)


def test_train_minmax_warms_eve_up_on_the_starting_encoder():
    ch = RayleighChannel("block", "zf")

    def run(warmup: float) -> tuple[torch.Tensor, torch.Tensor]:
        m = tiny(reconstruct=True)
        torch.manual_seed(1)
        eve = EavesdropperClassifier(m.k, 10, hidden=32)
        e0, m0 = params(eve), params(m)
        train_minmax(
            m,
            eve,
            DATA.x_train,
            DATA.y_train,
            minmax=MinMaxTraining(eve_warmup=warmup),
            bob_channel=ch,
            bob_snr_db=10.0,
            eve_channel=ch,
            eve_snr_db=0.0,
            epochs=0.25,  # one min-max step
            batch_size=64,
            generator=g(),
        )
        return (params(eve) - e0).norm(), (params(m) - m0).norm()

    eve_cold, enc_cold = run(0.0)
    eve_warm, enc_warm = run(2.0)
    assert eve_warm > 2 * eve_cold  # eight more Eve updates
    assert enc_cold > 0 and enc_warm > 0  # the encoder still takes its one step


def test_train_link_heads_only_leaves_the_encoder_as_it_is():
    m = tiny(reconstruct=True)
    enc = [m.features, m.to_latent]
    before = {k: v.clone() for e in enc for k, v in e.state_dict().items()}
    heads0 = torch.cat([p.detach().flatten().clone() for p in m.head_parameters()])
    train_link(
        m,
        DATA.x_train,
        DATA.y_train,
        channel=AWGNChannel(),
        snr_db=10.0,
        epochs=1,
        batch_size=64,
        rec_weight=1.0,
        heads_only=True,
        generator=g(),
    )
    after = {k: v for e in enc for k, v in e.state_dict().items()}
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and batch-norm statistics
    heads1 = torch.cat([p.detach().flatten() for p in m.head_parameters()])
    assert not torch.equal(heads0, heads1)
    assert len(m.head_parameters()) == len(list(m.classifier.parameters())) + len(list(m.decoder.parameters()))


def test_train_minmax_updates_bob_and_eve():
    m = tiny(reconstruct=True)
    eve = EavesdropperClassifier(m.k, 10, hidden=32)
    e0 = params(eve)
    ch = RayleighChannel("block", "zf")
    hist = train_minmax(
        m,
        eve,
        DATA.x_train,
        DATA.y_train,
        minmax=MinMaxTraining(),
        bob_channel=ch,
        bob_snr_db=10.0,
        eve_channel=ch,
        eve_snr_db=0.0,
        epochs=1,
        batch_size=64,
        generator=g(),
    )
    assert {"bob_ce", "eve_ce", "bob_mse", "bob_acc", "eve_acc"} <= set(hist[0])
    assert not torch.equal(e0, params(eve))
    r = evaluate_link(m, DATA.x_test, DATA.y_test, channel=ch, snr_db=10.0, generator=g())
    assert math.isfinite(r.psnr_db)


def test_attackers_learn_from_intercepted_symbols():
    m = tiny()
    ch = AWGNChannel()

    def view(x, gg):
        return ch(m.encode(x, gg), 20.0, gg)

    att = InversionAttacker(m.k, 3, 16, width=8)
    before = evaluate_attack(view, DATA.x_test, inverter=att, generator=g(3))
    hist = train_inversion(att, view, DATA.x_train, epochs=4, batch_size=32, generator=g())
    after = evaluate_attack(view, DATA.x_test, inverter=att, generator=g(3))
    assert hist[-1] < hist[0] and after.psnr_db > before.psnr_db
    clf = EavesdropperClassifier(m.k, 10, hidden=32)
    train_classifier(clf, view, DATA.x_train, DATA.y_train, epochs=4, batch_size=32, generator=g())
    r = evaluate_attack(view, DATA.x_test, DATA.y_test, classifier=clf, generator=g(3))
    assert 0.0 <= r.accuracy <= 1.0 and r.n == 128


def test_ssim_matches_scikit_image_gaussian():
    torch.manual_seed(0)
    a = torch.rand(2, 3, 20, 20)
    b = (a + 0.1 * torch.randn_like(a)).clamp(0, 1)
    ours = ssim_map(a, b)
    for i in range(2):
        ref = structural_similarity(
            a[i].permute(1, 2, 0).numpy().astype(np.float64),
            b[i].permute(1, 2, 0).numpy().astype(np.float64),
            data_range=1.0,
            channel_axis=2,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        # the Gaussian SSIM of Wang et al. (skimage crops the borders, torchmetrics pads them)
        assert float(ours[i]) == pytest.approx(ref, abs=5e-3)


def _write_idx(path, arr: np.ndarray) -> None:
    code = {1: 0x0801, 3: 0x0803}[arr.ndim]
    head = code.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.astype(np.uint8).tobytes())


def test_mnist_reader_and_quick_fallback(tmp_path):
    d = tmp_path / "mnist"
    d.mkdir()
    imgs = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    _write_idx(d / "train-images.idx3-ubyte.gz", imgs)
    _write_idx(d / "train-labels.idx1-ubyte.gz", np.array([1, 2, 3]))
    _write_idx(d / "t10k-images.idx3-ubyte.gz", imgs[:2])
    _write_idx(d / "t10k-labels.idx1-ubyte.gz", np.array([4, 5]))
    s = load_mnist(tmp_path)
    assert s.x_train.shape == (3, 28, 28) and np.array_equal(s.x_train, imgs.astype(np.uint8))
    assert s.y_test.tolist() == [4, 5] and s.channels == 1
    q = load_dataset("cifar10", tmp_path / "missing", quick=True)
    assert q.synthetic and q.x_train.shape[1:] == (32, 32, 3)
    with pytest.raises(InputError, match="does not exist"):
        load_dataset("cifar10", tmp_path / "missing")
