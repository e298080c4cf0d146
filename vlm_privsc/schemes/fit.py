"""Training a task-oriented link to convergence: schedules, augmentation, resumable checkpoints.

The recipe of the fast CIFAR-10 training literature, sized for a CPU:

- SGD with Nesterov momentum and weight decay (or AdamW), the one-cycle schedule
  (L. N. Smith and N. Topin, "Super-Convergence", 2019: linear warm-up to the peak
  rate, then cosine annealing) or cosine with warm-up (I. Loshchilov and F. Hutter,
  "SGDR", ICLR 2017);
- label smoothing 0.1 (C. Szegedy et al., "Rethinking the Inception Architecture",
  CVPR 2016);
- random crop (4-pixel zero padding) and horizontal flip (He et al., CVPR 2016);
- a checkpoint after every epoch (model, optimiser, schedule, generator state and
  history), so ``resume=True`` continues an interrupted run exactly where it stopped;
  a time budget that stops cleanly at an epoch boundary;
- the GPU when there is one (:func:`select_device`), never required.

The link is ``model.encode -> scheme.roundtrip (channel) -> model.classify`` as in
:func:`vlm_privsc.schemes.training.train_link`; the DeepJSCC baseline trained here is the
shared warm start that each scheme is fine-tuned from (:func:`load_link`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.schemes.base import NoScheme, Scheme
from vlm_privsc.schemes.models import TaskJSCC

Log = Callable[[str], None] | None

__all__ = [
    "FitConfig",
    "accuracy",
    "augment",
    "fit_link",
    "load_link",
    "lr_at",
    "save_link",
    "select_device",
]


@dataclass(frozen=True)
class FitConfig:
    """Hyper-parameters of :func:`fit_link` (defaults: the CIFAR-10 ResNet recipe)."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 0.1
    optimizer: str = "sgd"
    weight_decay: float = 5e-4
    momentum: float = 0.9
    schedule: str = "onecycle"
    warmup: float = 0.15
    label_smoothing: float = 0.1
    crop: int = 4
    flip: bool = True
    snr_db: float = 12.0
    snr_range: tuple[float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adamw"):
            raise ConfigError(f"optimizer must be 'sgd' or 'adamw', got {self.optimizer!r}")
        if self.schedule not in ("onecycle", "cosine", "constant"):
            raise ConfigError(f"schedule must be 'onecycle', 'cosine' or 'constant', got {self.schedule!r}")
        if self.epochs <= 0 or self.batch_size <= 1 or not 0 <= self.warmup < 1:
            raise ConfigError(f"bad FitConfig: epochs={self.epochs}, batch={self.batch_size}, warmup={self.warmup}")


def select_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU; or an explicit ``cpu`` / ``cuda[:i]``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available")
    return dev


def lr_at(cfg: FitConfig, step: int, total: int) -> float:
    """Learning rate at ``step`` of ``total``: linear warm-up then cosine to ~0
    (``onecycle`` starts the warm-up at lr/25 as Smith & Topin; ``cosine`` at lr/total)."""
    if cfg.schedule == "constant":
        return cfg.lr
    warm = max(1, int(round(cfg.warmup * total)))
    if step < warm:
        start = cfg.lr / 25 if cfg.schedule == "onecycle" else cfg.lr / max(warm, 1)
        return start + (cfg.lr - start) * step / warm
    t = (step - warm) / max(1, total - warm)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def augment(x: Tensor, generator: torch.Generator | None, crop: int = 4, flip: bool = True) -> Tensor:
    """Random crop after ``crop``-pixel zero padding and random horizontal flip (per image)."""
    b, _, h, w = x.shape
    if flip:
        f = torch.rand(b, generator=generator) < 0.5
        x = torch.where(f.view(b, 1, 1, 1).to(x.device), x.flip(-1), x)
    if crop:
        xp = F.pad(x, (crop, crop, crop, crop))
        dy = torch.randint(0, 2 * crop + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * crop + 1, (b,), generator=generator)
        ar_h, ar_w = torch.arange(h), torch.arange(w)
        rows = (dy[:, None] + ar_h[None]).to(x.device)  # [B, h]
        cols = (dx[:, None] + ar_w[None]).to(x.device)  # [B, w]
        idx_b = torch.arange(b, device=x.device)[:, None, None]
        x = xp.permute(0, 2, 3, 1)[idx_b, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return x.contiguous()


def _to_float(images: np.ndarray, idx: np.ndarray, device: torch.device) -> Tensor:
    t = torch.from_numpy(np.ascontiguousarray(images[idx]))
    if t.dim() == 3:
        t = t.unsqueeze(-1)
    return t.to(device).permute(0, 3, 1, 2).float().div_(255.0)


def _optimizer(params: list[nn.Parameter], cfg: FitConfig) -> torch.optim.Optimizer:
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]  # BN and biases: no weight decay
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)


def save_link(path: Path, model: TaskJSCC, extra: dict[str, Any] | None = None) -> None:
    """Weights + constructor config (+ ``extra``, e.g. test scores) in one file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": model.config(), "state": model.state_dict(), "extra": extra or {}}, path)


def load_link(path: Path, map_location: str | torch.device = "cpu", **changes: Any) -> TaskJSCC:
    """Rebuild a :class:`TaskJSCC` saved by :func:`save_link` or :func:`fit_link` (the shared
    warm start). ``changes`` (e.g. ``reconstruct=True``) alter the config; layers that then
    differ in shape stay at their fresh initialisation."""
    ck = torch.load(path, map_location=map_location, weights_only=False)
    if "config" not in ck:
        raise InputError(f"{path}: not a TaskJSCC checkpoint (no 'config')")
    model = TaskJSCC(**{**ck["config"], **changes})
    state = ck.get("state") or ck["model"]
    own = model.state_dict()
    model.load_state_dict({k: v for k, v in state.items() if k in own and own[k].shape == v.shape}, strict=False)
    return model.eval()


def fit_link(
    model: TaskJSCC,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    channel: nn.Module,
    cfg: FitConfig,
    scheme: Scheme | None = None,
    seed: int = 0,
    checkpoint: Path | None = None,
    resume: bool = False,
    time_budget_s: float | None = None,
    device: torch.device | None = None,
    evaluate: Callable[[TaskJSCC], dict[str, float]] | None = None,
    log: Log = None,
) -> list[dict[str, float]]:
    """Train ``model`` (and a learnable ``scheme``) on uint8 ``images`` for ``cfg.epochs``.

    Loss: label-smoothed cross-entropy of Bob's classifier behind ``scheme.roundtrip`` over
    ``channel`` at ``cfg.snr_db`` (or an SNR uniform in ``cfg.snr_range`` per image) plus
    the scheme's ``aux_loss``. After every epoch the state is written to ``checkpoint``;
    with ``resume`` and an existing checkpoint training continues from it (same batches,
    same noise as an uninterrupted run). ``time_budget_s`` stops after the epoch that
    exceeds it (the checkpoint then resumes the rest). ``evaluate(model)`` is called
    after every epoch and its scores go into the history. Returns the history.
    """
    device = device or torch.device("cpu")
    scheme = scheme or NoScheme()
    model.to(device)
    scheme.to(device)
    own = list(model.parameters())
    params = own + [p for p in scheme.parameters() if p.requires_grad and all(p is not q for q in own)]
    opt = _optimizer(params, cfg)
    lab = torch.as_tensor(np.asarray(labels)).long()
    n = len(images)
    steps_per_epoch = n // cfg.batch_size
    if steps_per_epoch < 1:
        raise InputError(f"fit_link: {n} images are fewer than one batch of {cfg.batch_size}")
    total = steps_per_epoch * cfg.epochs
    gen = torch.Generator().manual_seed(seed)
    # channel / encoder noise: the same CPU generator (exact resume); a device generator on GPU
    noise = gen if device.type == "cpu" else torch.Generator(device=device).manual_seed(seed + 1)
    model.features.to(memory_format=torch.channels_last)  # ~25% faster convolutions on CPU
    start_epoch, hist = 0, []
    if resume and checkpoint is not None and checkpoint.is_file():
        ck = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        if ck.get("scheme"):
            scheme.load_state_dict(ck["scheme"])
        opt.load_state_dict(ck["optimizer"])
        gen.set_state(ck["generator"])
        start_epoch, hist = int(ck["epoch"]) + 1, list(ck["history"])
        if log:
            log(f"resumed from {checkpoint} after epoch {start_epoch - 1}")
    t0 = time.perf_counter()
    for ep in range(start_epoch, cfg.epochs):
        model.train()
        scheme.train()
        order = torch.randperm(n, generator=gen).numpy()
        tot, correct, seen, te = 0.0, 0, 0, time.perf_counter()
        for i in range(steps_per_epoch):
            step = ep * steps_per_epoch + i
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, step, total)
            idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            x = augment(_to_float(images, idx, device), gen, cfg.crop, cfg.flip)
            x = x.contiguous(memory_format=torch.channels_last)
            y = lab[idx].to(device)
            snr: Any = cfg.snr_db
            if cfg.snr_range is not None:
                lo, hi = cfg.snr_range
                snr = (lo + (hi - lo) * torch.rand(len(idx), generator=gen)).to(device)
            logits = model.classify(scheme.roundtrip(model.encode(x, noise), channel, snr, noise))
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            aux = scheme.aux_loss()
            if aux.requires_grad:
                loss = loss + aux
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(-1) == y).sum())
            seen += len(idx)
        rec: dict[str, float] = {
            "epoch": ep,
            "loss": tot / seen,
            "train_accuracy": correct / seen,
            "lr_end": lr_at(cfg, (ep + 1) * steps_per_epoch - 1, total),
            "seconds": time.perf_counter() - te,
        }
        model.eval()
        if evaluate is not None:
            rec.update(evaluate(model))
        hist.append(rec)
        if log:
            extra = " ".join(f"{k} {v:.4f}" for k, v in rec.items() if k not in ("epoch", "seconds", "lr_end"))
            log(f"  epoch {ep + 1}/{cfg.epochs} ({rec['seconds']:.0f}s): {extra}")
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            torch.save(
                {
                    "model": model.state_dict(),
                    "config": model.config(),
                    "scheme": scheme.state_dict(),
                    "optimizer": opt.state_dict(),
                    "generator": gen.get_state(),
                    "epoch": ep,
                    "history": hist,
                    "fit": asdict(cfg),
                },
                tmp,
            )
            tmp.replace(checkpoint)
        if time_budget_s is not None and time.perf_counter() - t0 > time_budget_s and ep + 1 < cfg.epochs:
            if log:
                log(f"time budget {time_budget_s:.0f}s spent after epoch {ep + 1}; resume to continue")
            break
    model.eval()
    scheme.eval()
    return hist


@torch.no_grad()
def accuracy(
    model: TaskJSCC,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    channel: nn.Module,
    snr_db: float,
    scheme: Scheme | None = None,
    seed: int = 0,
    batch_size: int = 500,
    device: torch.device | None = None,
) -> float:
    """Bob's top-1 accuracy on ``images`` at ``snr_db`` (channel noise seeded by ``seed``)."""
    device = device or next(model.parameters()).device
    scheme = scheme or NoScheme()
    model.eval()
    scheme.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    lab = torch.as_tensor(np.asarray(labels)).long()
    correct = 0
    for i in range(0, len(images), batch_size):
        idx = np.arange(i, min(i + batch_size, len(images)))
        x = _to_float(images, idx, device)
        logits = model.classify(scheme.roundtrip(model.encode(x, gen), channel, snr_db, gen))
        correct += int((logits.argmax(-1).cpu() == lab[idx]).sum())
    return correct / max(len(images), 1)
