"""Training and evaluation of the eavesdropper's models on intercepted symbols.

Both trainers take a ``view(x, generator) -> symbols`` function: whatever Eve receives
for a batch of images (``scheme.intercept(model.encode(x), channel, snr)`` in the
reproductions); the encoder is frozen (``torch.no_grad``) while Eve trains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vlm_privsc.attacks.losses import inversion_loss, psnr_per_image, ssim_map

View = Callable[[Tensor, torch.Generator | None], Tensor]
Images = Callable[[np.ndarray], Tensor]


def batches(n: int, batch_size: int, generator: torch.Generator | None, shuffle: bool = True) -> Iterator[Tensor]:
    """Index batches over ``range(n)`` (a seeded permutation when ``shuffle``)."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


def to_float_images(x: np.ndarray | Tensor) -> Tensor:
    """uint8 NHWC / NHW (or float NCHW) -> float32 NCHW in [0,1]."""
    if isinstance(x, Tensor) and x.is_floating_point():
        return x.float()
    t = torch.as_tensor(np.asarray(x))
    if t.dim() == 3:
        t = t.unsqueeze(-1)
    return t.permute(0, 3, 1, 2).float().div(255.0)


@dataclass(frozen=True)
class AttackResult:
    """Eve's scores on a test set."""

    psnr_db: float = float("nan")
    ssim: float = float("nan")
    accuracy: float = float("nan")
    n: int = 0


def _fit(
    model: nn.Module,
    view: View,
    images: np.ndarray | Tensor,
    loss_fn: Callable[[Tensor, Tensor, Tensor], Tensor],
    *,
    epochs: float,
    batch_size: int,
    lr: float,
    generator: torch.Generator | None,
) -> list[float]:
    """Adam on ``loss_fn(model(view(x)), x, idx)`` over ``epochs`` passes (fractions allowed);
    the loss per epoch. ``view`` (the intercepted channel) is not trained."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    hist: list[float] = []
    n = len(images)
    steps_total = max(1, int(round(epochs * max(1, n // batch_size))))
    step = 0
    while step < steps_total:
        tot, cnt = 0.0, 0
        for idx in batches(n, batch_size, generator):
            x = to_float_images(images[idx.numpy()] if isinstance(images, np.ndarray) else images[idx])
            with torch.no_grad():
                y = view(x, generator)
            loss = loss_fn(model(y), x, idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot, cnt = tot + loss.item() * len(idx), cnt + len(idx)
            step += 1
            if step >= steps_total:
                break
        hist.append(tot / max(cnt, 1))
    model.eval()
    return hist


def train_inversion(
    attacker: nn.Module,
    view: View,
    images: np.ndarray | Tensor,
    *,
    epochs: float = 1.0,
    batch_size: int = 128,
    lr: float = 1e-3,
    ssim_weight: float = 0.1,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Train the model-inversion attacker on ``(view(x), x)``; returns the loss per epoch."""
    return _fit(
        attacker,
        view,
        images,
        lambda out, x, idx: inversion_loss(out, x, ssim_weight),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        generator=generator,
    )


def train_classifier(
    clf: nn.Module,
    view: View,
    images: np.ndarray | Tensor,
    labels: np.ndarray | Tensor,
    *,
    epochs: float = 1.0,
    batch_size: int = 128,
    lr: float = 1e-3,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Train Eve's classifier on ``(view(x), label)``; returns the loss per epoch."""
    lab = torch.as_tensor(np.asarray(labels)).long()
    return _fit(
        clf,
        view,
        images,
        lambda out, x, idx: F.cross_entropy(out, lab[idx]),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        generator=generator,
    )


@torch.no_grad()
def evaluate_attack(
    view: View,
    images: np.ndarray | Tensor,
    labels: np.ndarray | Tensor | None = None,
    *,
    inverter: nn.Module | None = None,
    classifier: nn.Module | None = None,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
) -> AttackResult:
    """Eve's mean per-image PSNR / SSIM (inverter) and accuracy (classifier) on a test set."""
    ps, ss, correct, n = [], [], 0, len(images)
    lab = torch.as_tensor(np.asarray(labels)).long() if labels is not None else None
    for idx in batches(n, batch_size, None, shuffle=False):
        x = to_float_images(images[idx.numpy()] if isinstance(images, np.ndarray) else images[idx])
        y = view(x, generator)
        if inverter is not None:
            r = inverter(y)
            ps.append(psnr_per_image(r, x))
            ss.append(ssim_map(r, x))
        if classifier is not None and lab is not None:
            correct += int((classifier(y).argmax(-1) == lab[idx]).sum())
    return AttackResult(
        psnr_db=float(torch.cat(ps).mean()) if ps else float("nan"),
        ssim=float(torch.cat(ss).mean()) if ss else float("nan"),
        accuracy=correct / n if (classifier is not None and lab is not None and n) else float("nan"),
        n=n,
    )
