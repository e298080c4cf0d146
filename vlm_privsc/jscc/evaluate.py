"""Measuring a JSCC model: PSNR and SSIM through a channel, and codec throughput."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vlm_privsc.channel.base import Channel, SnrLike
from vlm_privsc.jscc.models import DeepJSCC
from vlm_privsc.measure.quality import psnr_per_image, ssim_per_image


def to_tensor(images: np.ndarray) -> Tensor:
    """uint8 ``[N,H,W,3]`` (or ``[H,W,3]``) -> float32 ``[N,3,H,W]`` in [0,1]."""
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[None]
    a = np.ascontiguousarray(a)
    if not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a).permute(0, 3, 1, 2).float().div_(255.0)


@dataclass(frozen=True)
class Quality:
    """Mean PSNR (dB) and SSIM over a set of images, with their count."""

    psnr_db: float
    ssim: float
    n: int


@torch.no_grad()
def evaluate_per_image(
    model: DeepJSCC,
    images: np.ndarray | Sequence[np.ndarray],
    channel: Channel,
    snr_db: SnrLike,
    seed: int = 0,
    batch: int = 128,
    with_ssim: bool = True,
    device: str | torch.device = "cpu",
    text_emb: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Send ``images`` (uint8 HWC, one array ``[N,H,W,3]`` or a list of any sizes) through
    ``encode -> channel -> decode``; the PSNR and SSIM of each image (``[N]`` each; SSIM is
    nan without ``with_ssim``). Noise is drawn from a generator seeded with ``seed``
    (reproducible, and identical for two models sent the same images: paired comparisons).
    ``text_emb`` ``[N, D]``: the text embedding each image's decoder receives
    (text-conditioned models only)."""
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    if isinstance(images, np.ndarray) and images.ndim == 4:
        starts = list(range(0, len(images), batch))
        chunks = [images[i : i + batch] for i in starts]
    else:
        starts = list(range(len(images)))
        chunks = [np.asarray(im)[None] for im in images]
    if text_emb is not None and text_emb.shape[0] != len(images):
        raise ValueError(f"text_emb has {text_emb.shape[0]} rows for {len(images)} images")
    psnrs: list[Tensor] = []
    ssims: list[Tensor] = []
    for i0, ch in zip(starts, chunks):
        x = to_tensor(ch).to(device)
        t = None if text_emb is None else text_emb[i0 : i0 + len(ch)].to(device)
        y = model(x, channel, snr_db, gen, text_emb=t).clamp(0, 1)
        y = torch.round(y * 255) / 255  # what a receiver would save as 8-bit
        psnrs.append(psnr_per_image(x, y).cpu())
        ssims.append(ssim_per_image(x, y).cpu() if with_ssim else torch.full((len(ch),), float("nan")))
    return torch.cat(psnrs), torch.cat(ssims)


def evaluate(
    model: DeepJSCC,
    images: np.ndarray | Sequence[np.ndarray],
    channel: Channel,
    snr_db: SnrLike,
    seed: int = 0,
    batch: int = 128,
    with_ssim: bool = True,
    device: str | torch.device = "cpu",
    text_emb: Tensor | None = None,
) -> Quality:
    """Mean PSNR / SSIM of :func:`evaluate_per_image` (same arguments)."""
    p, s = evaluate_per_image(
        model, images, channel, snr_db, seed=seed, batch=batch, with_ssim=with_ssim, device=device, text_emb=text_emb
    )
    return Quality(psnr_db=float(p.mean()), ssim=float(s.mean()), n=int(p.numel()))


@torch.no_grad()
def throughput(
    model: DeepJSCC,
    size: int,
    batch: int,
    seconds: float = 3.0,
    snr_db: float = 10.0,
    device: str | torch.device = "cpu",
) -> float:
    """Encode + decode rate in images/s for ``batch`` random ``size x size`` images (no channel)."""
    model.eval()
    x = torch.rand(batch, 3, size, size, device=device)
    model.decode(model.encode(x, snr_db), snr_db, size=(size, size))  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        model.decode(model.encode(x, snr_db), snr_db, size=(size, size))
        n += batch
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 2 * batch:
            return n / dt
