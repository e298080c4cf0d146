"""The converged-training harness (ResNet TaskJSCC, one-cycle fit, resumable checkpoints) on tiny synthetic data."""

from __future__ import annotations

import json

import pytest
import torch

from vlm_privsc.channel import AWGNChannel, RayleighChannel
from vlm_privsc.errors import ConfigError
from vlm_privsc.schemes import LaplaceDP, TaskJSCC
from vlm_privsc.schemes.data import synthetic
from vlm_privsc.schemes.fit import FitConfig, accuracy, augment, fit_link, load_link, lr_at, save_link, select_device
from vlm_privsc.schemes.resnet import ResNetTrunk

DATA = synthetic(n_train=96, n_test=32, size=16, seed=0)
CFG = FitConfig(epochs=2, batch_size=32, lr=0.05, snr_db=10.0)


def tiny(**kw) -> TaskJSCC:
    torch.manual_seed(0)
    return TaskJSCC(3, 16, 16, 10, width=4, arch="resnet", blocks=1, **kw)


def state(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def test_resnet_trunk_is_resnet20_at_width16_and_task_jscc_shapes():
    trunk = ResNetTrunk(3, 16, 3)
    assert trunk.out_features == 64
    assert 0.26e6 < sum(p.numel() for p in trunk.parameters()) < 0.28e6  # ResNet-20's 0.27 M
    m = TaskJSCC(1, 28, 16, 10, arch="resnet", blocks=1, width=4, reconstruct=True)
    x = torch.rand(3, 1, 28, 28)
    z = m.encode(x)
    assert z.shape == (3, 8) and torch.is_complex(z)
    assert torch.allclose((z.abs() ** 2).mean(1), torch.ones(3), atol=1e-4)
    assert m.classify(z).shape == (3, 10) and m.reconstruct(z).shape == (3, 1, 28, 28)
    v = TaskJSCC(3, 16, 16, 10, arch="resnet", blocks=1, width=4, variational=True)
    v.encode(torch.rand(2, 3, 16, 16))
    assert float(v.last_kl.detach()) >= 0
    assert m.config()["arch"] == "resnet" and TaskJSCC(3, 16, 16).config()["width"] == 32
    with pytest.raises(ConfigError):
        TaskJSCC(3, 16, 16, arch="vit")


def test_schedule_warms_up_then_anneals_and_config_is_checked():
    cfg = FitConfig(epochs=1, lr=1.0, warmup=0.2)
    lrs = [lr_at(cfg, s, 100) for s in range(100)]
    assert lrs[0] == pytest.approx(1 / 25) and max(lrs) == pytest.approx(1.0) and lrs[20] == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(lrs[:20], lrs[1:21], strict=True))
    assert all(a >= b for a, b in zip(lrs[20:], lrs[21:], strict=False)) and lrs[-1] < 1e-3
    with pytest.raises(ConfigError):
        FitConfig(optimizer="lbfgs")
    with pytest.raises(ConfigError):
        select_device("cuda:99") if not torch.cuda.is_available() else FitConfig(schedule="step")
    assert select_device("cpu").type == "cpu"


def test_augment_crops_and_flips_within_the_padded_image():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4) + 1
    g = torch.Generator().manual_seed(0)
    assert torch.equal(augment(x, g, crop=0, flip=False), x)
    y = augment(x, torch.Generator().manual_seed(1), crop=0, flip=True)
    assert all(torch.equal(y[i], x[i]) or torch.equal(y[i], x[i].flip(-1)) for i in range(2))
    z = augment(x, torch.Generator().manual_seed(2), crop=1, flip=False)
    assert z.shape == x.shape
    for i in range(2):  # every crop is a shifted window of the zero-padded image
        padded = torch.nn.functional.pad(x[i], (1, 1, 1, 1))
        assert any(torch.equal(z[i], padded[:, a : a + 4, b : b + 4]) for a in range(3) for b in range(3))


def test_fit_link_learns_and_resume_gives_the_same_state(tmp_path):
    ch = AWGNChannel()
    full = tiny()
    hist = fit_link(full, DATA.x_train, DATA.y_train, channel=ch, cfg=CFG, seed=3, checkpoint=tmp_path / "a.pt")
    assert [h["epoch"] for h in hist] == [0, 1]
    # interrupted after one epoch (a 2-epoch run whose time budget is spent), then resumed
    part = tiny()
    ck = tmp_path / "b.pt"
    h1 = fit_link(part, DATA.x_train, DATA.y_train, channel=ch, cfg=CFG, seed=3, checkpoint=ck, time_budget_s=0.0)
    assert len(h1) == 1
    resumed = tiny()
    h2 = fit_link(resumed, DATA.x_train, DATA.y_train, channel=ch, cfg=CFG, seed=3, checkpoint=ck, resume=True)
    assert len(h2) == 2 and h2[1]["loss"] == pytest.approx(hist[1]["loss"], rel=1e-5)
    a, b = state(full), state(resumed)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_fit_link_reaches_high_accuracy_on_learnable_data_over_rayleigh():
    m = tiny()
    cfg = FitConfig(epochs=6, batch_size=32, lr=0.05, snr_db=15.0, crop=0, flip=False)
    data = synthetic(n_train=320, n_test=64, size=16, seed=1)
    ch = RayleighChannel("block", "zf")
    fit_link(m, data.x_train, data.y_train, channel=ch, cfg=cfg, seed=0)
    acc = accuracy(m, data.x_test, data.y_test, channel=ch, snr_db=15.0, seed=0)
    assert acc > 0.5  # chance is 0.1
    assert acc == accuracy(m, data.x_test, data.y_test, channel=ch, snr_db=15.0, seed=0)  # seeded


def test_save_and_load_link_is_the_shared_warm_start(tmp_path):
    m = tiny()
    fit_link(m, DATA.x_train, DATA.y_train, channel=AWGNChannel(), cfg=CFG, seed=0, scheme=LaplaceDP(epsilon=5.0))
    save_link(tmp_path / "final.pt", m, {"note": 1})
    w = load_link(tmp_path / "final.pt")
    x = torch.rand(4, 3, 16, 16)
    assert torch.allclose(m.encode(x), w.encode(x)) and w.config() == m.config()
    r = load_link(tmp_path / "final.pt", reconstruct=True)  # adds a fresh decoder, keeps the rest
    assert r.decoder is not None and torch.allclose(m.encode(x), r.encode(x))


def test_train_scheme_base_quick_end_to_end_and_resume(tmp_path):
    from vlm_privsc.evaluation.repro import scheme_base as mod

    out = tmp_path / "base"
    args = ["--quick", "--data", str(tmp_path / "none"), "--out", str(out), "--threads", "1"]
    assert mod.main(args) == 0
    res = json.loads((out / "result.json").read_text())
    assert res["complete"] and res["synthetic"] and res["epochs_done"] == 2
    assert (out / "final.pt").is_file() and 0 <= res["scores"]["acc_lossless_12dB"] <= 1
    assert mod.main([*args, "--resume", "--channel", "rayleigh", "--init", str(out / "final.pt")]) == 0
    assert "resumed" in (out / "log.txt").read_text()


def test_repro_survey_quick_from_a_warm_start(tmp_path):
    from vlm_privsc.evaluation.repro import survey as mod

    ck = tmp_path / "final.pt"
    save_link(ck, TaskJSCC(3, 32, 16, 10, width=4, arch="resnet", blocks=1))
    out = tmp_path / "survey"
    argv = ["--quick", "--data", str(tmp_path / "none"), "--out", str(out), "--threads", "1", "--base", str(ck)]
    assert mod.main([*argv, "--schemes", "deepjscc,dp,ibal,lbvq"]) == 0
    text = (out / "README.md").read_text()
    assert "ResNet trunk" in text and "warm start" in text and "QUICK RUN" in text
    names = {line.split(",")[0] for line in (out / "accuracy_vs_snr.csv").read_text().splitlines()[1:]}
    assert names == {"deepjscc", "dp_eps0.05", "dp_eps0.1", "dp_eps0.9", "ibal", "lbvq"}


def test_repro_multitask_quick_from_a_warm_start(tmp_path):
    from vlm_privsc.evaluation.repro import multitask as mod

    ck = tmp_path / "final.pt"
    save_link(ck, TaskJSCC(1, 28, 16, 10, width=4, arch="resnet", blocks=1))
    out = tmp_path / "mt"
    argv = ["--quick", "--data", str(tmp_path / "none"), "--out", str(out), "--threads", "1", "--datasets", "mnist"]
    assert mod.main([*argv, "--latents", "8", "--base", f"mnist={ck}", "--no-adaptive", "--width", "4"]) == 0
    text = (out / "README.md").read_text()
    assert "warm starts: mnist=" in text and "## Claims" in text
    assert len((out / "results.csv").read_text().splitlines()) == 5
