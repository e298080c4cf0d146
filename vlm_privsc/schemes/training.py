"""Training and evaluation loops of task-oriented links with a privacy scheme.

- :func:`train_link`: encoder + receiver heads through ``scheme.roundtrip`` (DP noise,
  shuffling, LBVQ with straight-through gradients and its codebook/commitment loss,
  the VIB KL term), classification and optionally reconstruction;
- :func:`train_ibal`: IBAL (attacker retrained every epoch, then encoder + head with
  ``CE + KL - 1/(1+sigma) * attacker MSE``);
- :func:`train_minmax`: iterative min-max against a co-trained eavesdropper, multi-task Bob;
- :func:`evaluate_link`: Bob's accuracy and reconstruction PSNR at one SNR.

Images are uint8 arrays (NHWC, or NHW for grey) converted batch by batch, so 50k CIFAR
images stay at 150 MB. Every random draw comes from the ``generator`` passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vlm_privsc.attacks.losses import inversion_loss, psnr_per_image
from vlm_privsc.attacks.train import batches, to_float_images, train_inversion
from vlm_privsc.schemes.base import NoScheme, Scheme
from vlm_privsc.schemes.ibal import IBAL
from vlm_privsc.schemes.minmax import MinMaxTraining
from vlm_privsc.schemes.models import TaskJSCC

Log = Callable[[str], None] | None
ArrayLike = np.ndarray | Tensor


def _take(images: ArrayLike, idx: Tensor) -> Tensor:
    return to_float_images(images[idx.numpy()] if isinstance(images, np.ndarray) else images[idx])


def _labels(labels: ArrayLike) -> Tensor:
    return torch.as_tensor(np.asarray(labels)).long()


def _steps(n: int, batch_size: int, epochs: float) -> int:
    return max(1, int(round(epochs * max(1, n // batch_size))))


def _epochs_iter(n: int, batch_size: int, epochs: float, generator: torch.Generator | None):
    """Yield ``(epoch, idx)`` for ``epochs`` (fractional allowed) passes of shuffled batches."""
    total, step, ep = _steps(n, batch_size, epochs), 0, 0
    while step < total:
        for idx in batches(n, batch_size, generator):
            if len(idx) < 2:
                continue
            yield ep, idx
            step += 1
            if step >= total:
                return
        ep += 1


@dataclass(frozen=True)
class LinkResult:
    """Bob's scores at one SNR."""

    accuracy: float
    psnr_db: float
    n: int


def train_link(
    model: TaskJSCC,
    images: ArrayLike,
    labels: ArrayLike,
    *,
    channel: nn.Module,
    snr_db: float,
    scheme: Scheme | None = None,
    epochs: float = 1.0,
    batch_size: int = 128,
    lr: float = 1e-3,
    rec_weight: float = 0.0,
    kl_weight: float = 0.0,
    aux_weight: float = 1.0,
    heads_only: bool = False,
    generator: torch.Generator | None = None,
    log: Log = None,
) -> list[dict[str, float]]:
    """Train encoder + heads end to end through ``scheme.roundtrip`` over ``channel``.

    Loss: ``CE + rec_weight*MSE(reconstruction) + kl_weight*KL (variational) + aux_weight*scheme.aux_loss``.
    ``heads_only``: the encoder stays frozen and only Bob's classifier (and decoder) learn, as
    a post-hoc eavesdropper does on the final encoder. Returns one record per epoch (mean
    loss, train accuracy).
    """
    scheme = scheme or NoScheme()
    own = model.head_parameters() if heads_only else list(model.parameters())
    params = own + [p for p in scheme.parameters() if p.requires_grad and all(p is not q for q in model.parameters())]
    opt = torch.optim.Adam(params, lr=lr)
    lab = _labels(labels)
    model.train()
    if heads_only:  # frozen encoder: its batch-norm statistics stay as they are too
        model.features.eval()
        model.to_latent.eval()
    scheme.train()
    hist: list[dict[str, float]] = []
    cur, tot, acc, cnt = 0, 0.0, 0, 0

    def flush(ep: int) -> None:
        if cnt:
            hist.append({"epoch": ep, "loss": tot / cnt, "train_accuracy": acc / cnt})
            if log:
                log(f"  epoch {ep}: loss {tot / cnt:.4f}, train acc {acc / cnt:.3f}")

    for ep, idx in _epochs_iter(len(images), batch_size, epochs, generator):
        if ep != cur:
            flush(cur)
            cur, tot, acc, cnt = ep, 0.0, 0, 0
        x, y = _take(images, idx), lab[idx]
        with torch.set_grad_enabled(not heads_only):
            z = model.encode(x, generator)
        yb = scheme.roundtrip(z, channel, snr_db, generator)
        logits = model.classify(yb)
        loss = F.cross_entropy(logits, y)
        if rec_weight:
            loss = loss + rec_weight * F.mse_loss(model.reconstruct(yb), x)
        if kl_weight and model.variational and not heads_only:
            loss = loss + kl_weight * model.last_kl
        aux = scheme.aux_loss()
        if aux_weight and aux.requires_grad:
            loss = loss + aux_weight * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tot += loss.item() * len(idx)
        acc += int((logits.argmax(-1) == y).sum())
        cnt += len(idx)
    flush(cur)
    model.eval()
    scheme.eval()
    return hist


def train_ibal(
    model: TaskJSCC,
    attacker: nn.Module,
    images: ArrayLike,
    labels: ArrayLike,
    *,
    ibal: IBAL,
    channel: nn.Module,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 1e-3,
    generator: torch.Generator | None = None,
    log: Log = None,
) -> list[dict[str, float]]:
    """IBAL training (see :mod:`vlm_privsc.schemes.ibal`): every epoch the attacker is
    retrained (``ibal.attacker_epochs`` passes), then encoder + head for one pass."""
    if not model.variational:
        raise ValueError("IBAL needs a variational TaskJSCC (variational=True)")
    snr = ibal.train_snr_db
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lab = _labels(labels)
    hist: list[dict[str, float]] = []
    for ep in range(int(epochs)):
        model.eval()

        def view(x: Tensor, g: torch.Generator | None) -> Tensor:
            return channel(model.encode(x, g), snr, g)

        a_hist = train_inversion(
            attacker,
            view,
            images,
            epochs=ibal.attacker_epochs,
            batch_size=batch_size,
            lr=ibal.attacker_lr,
            ssim_weight=ibal.ssim_weight,
            generator=generator,
        )
        attacker.eval()
        attacker.requires_grad_(False)
        model.train()
        tot = dict(loss=0.0, ce=0.0, kl=0.0, mse=0.0)
        acc = cnt = 0
        for _, idx in _epochs_iter(len(images), batch_size, 1.0, generator):
            x, y = _take(images, idx), lab[idx]
            z = model.encode(x, generator)
            logits = model.classify(channel(z, snr, generator))
            ce = F.cross_entropy(logits, y)
            mse = F.mse_loss(attacker(channel(z, snr, generator)), x)
            loss = ibal.loss(ce, model.last_kl, mse)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n = len(idx)
            for k_, v in (("loss", loss), ("ce", ce), ("kl", model.last_kl), ("mse", mse)):
                tot[k_] += float(v.detach()) * n
            acc += int((logits.argmax(-1) == y).sum())
            cnt += n
        attacker.requires_grad_(True)
        rec = {
            "epoch": ep,
            **{k_: v / max(cnt, 1) for k_, v in tot.items()},
            "train_accuracy": acc / max(cnt, 1),
            "attacker_loss": a_hist[-1] if a_hist else float("nan"),
        }
        hist.append(rec)
        if log:
            log(
                f"  ibal epoch {ep}: ce {rec['ce']:.3f} kl {rec['kl']:.3f} attacker mse {rec['mse']:.4f} "
                f"train acc {rec['train_accuracy']:.3f}"
            )
    model.eval()
    return hist


def train_minmax(
    model: TaskJSCC,
    eve_classifier: nn.Module,
    images: ArrayLike,
    labels: ArrayLike,
    *,
    minmax: MinMaxTraining,
    bob_channel: nn.Module,
    bob_snr_db: float,
    eve_channel: nn.Module,
    eve_snr_db: float,
    eve_inverter: nn.Module | None = None,
    epochs: float = 1.0,
    batch_size: int = 128,
    lr: float = 1e-3,
    generator: torch.Generator | None = None,
    log: Log = None,
) -> list[dict[str, float]]:
    """Iterative min-max (see :mod:`vlm_privsc.schemes.minmax`): ``minmax.eve_warmup`` epochs
    of Eve alone on the starting encoder, then per batch Eve's update(s) on the frozen
    encoder and the encoder + Bob's heads against the frozen Eve, the privacy weight
    ramped over the first ``minmax.ramp`` of these steps."""
    lab = _labels(labels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    eve_params = list(eve_classifier.parameters()) + (list(eve_inverter.parameters()) if eve_inverter else [])
    opt_e = torch.optim.Adam(eve_params, lr=lr)
    rec = model.decoder is not None

    def eve_update(x: Tensor, y: Tensor) -> None:
        """One step of Eve (classifier, and inverter when given) on the frozen encoder's symbols."""
        with torch.no_grad():
            ye = eve_channel(model.encode(x, generator), eve_snr_db, generator)
        le = F.cross_entropy(eve_classifier(ye), y)
        if eve_inverter is not None:
            le = le + inversion_loss(eve_inverter(ye), x, 0.0)
        opt_e.zero_grad(set_to_none=True)
        le.backward()
        opt_e.step()

    if minmax.eve_warmup > 0:
        model.eval()
        eve_classifier.train()
        for _, idx in _epochs_iter(len(images), batch_size, minmax.eve_warmup, generator):
            eve_update(_take(images, idx), lab[idx])
        if log:
            log(f"  minmax: Eve warmed up for {minmax.eve_warmup:g} epochs on the starting encoder")
    total = _steps(len(images), batch_size, epochs)
    step = 0
    hist: list[dict[str, float]] = []
    cur = 0
    tot: dict[str, float] = {}
    cnt = 0

    def flush(ep: int) -> None:
        if cnt:
            r = {"epoch": ep, **{k_: v / cnt for k_, v in tot.items()}}
            hist.append(r)
            if log:
                log(
                    f"  minmax epoch {ep}: bob ce {r['bob_ce']:.3f} eve ce {r['eve_ce']:.3f} "
                    f"bob acc {r['bob_acc']:.3f} eve acc {r['eve_acc']:.3f}"
                )

    for ep, idx in _epochs_iter(len(images), batch_size, epochs, generator):
        if ep != cur:
            flush(cur)
            cur, tot, cnt = ep, {}, 0
        x, y = _take(images, idx), lab[idx]
        # 1) Eve
        eve_classifier.train()
        for _ in range(minmax.eve_steps):
            eve_update(x, y)
        # 2) encoder + Bob against the frozen Eve
        eve_classifier.eval()
        for p in eve_params:
            p.requires_grad_(False)
        model.train()
        z = model.encode(x, generator)
        yb = bob_channel(z, bob_snr_db, generator)
        logits = model.classify(yb)
        bob_ce = F.cross_entropy(logits, y)
        bob_mse = F.mse_loss(model.reconstruct(yb), x) if rec else None
        ye = eve_channel(z, eve_snr_db, generator)
        e_logits = eve_classifier(ye)
        eve_ce = F.cross_entropy(e_logits, y)
        eve_mse = F.mse_loss(eve_inverter(ye), x) if eve_inverter is not None else None
        loss = minmax.loss(bob_ce, bob_mse, eve_ce, eve_mse, progress=step / total)
        step += 1
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        for p in eve_params:
            p.requires_grad_(True)
        n = len(idx)
        vals: dict[str, Any] = {
            "loss": loss,
            "bob_ce": bob_ce,
            "eve_ce": eve_ce,
            "bob_acc": (logits.argmax(-1) == y).float().mean(),
            "eve_acc": (e_logits.argmax(-1) == y).float().mean(),
        }
        if bob_mse is not None:
            vals["bob_mse"] = bob_mse
        for k_, v in vals.items():
            tot[k_] = tot.get(k_, 0.0) + float(v.detach()) * n
        cnt += n
    flush(cur)
    model.eval()
    eve_classifier.eval()
    return hist


@torch.no_grad()
def evaluate_link(
    model: TaskJSCC,
    images: ArrayLike,
    labels: ArrayLike,
    *,
    channel: nn.Module,
    snr_db: float,
    scheme: Scheme | None = None,
    generator: torch.Generator | None = None,
    batch_size: int = 256,
) -> LinkResult:
    """Bob's accuracy (and reconstruction PSNR when the model has a decoder) at ``snr_db``."""
    scheme = scheme or NoScheme()
    model.eval()
    scheme.eval()
    lab = _labels(labels)
    correct, ps = 0, []
    for idx in batches(len(images), batch_size, None, shuffle=False):
        x = _take(images, idx)
        yb = scheme.roundtrip(model.encode(x, generator), channel, snr_db, generator)
        correct += int((model.classify(yb).argmax(-1) == lab[idx]).sum())
        if model.decoder is not None:
            ps.append(psnr_per_image(model.reconstruct(yb), x))
    n = len(images)
    return LinkResult(accuracy=correct / max(n, 1), psnr_db=float(torch.cat(ps).mean()) if ps else float("nan"), n=n)
