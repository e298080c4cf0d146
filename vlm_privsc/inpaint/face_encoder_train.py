"""Training of the face latent encoder (:mod:`vlm_privsc.inpaint.face_encoder`) on the DCGAN's
own samples: resumable, with a time budget, one command (``vlmsc train face-encoder``).

Each step draws ``z ~ N(0, I)``, renders ``x = G(z)``, cuts it as the guard cuts a face
(an ellipse whose longest axis is the frame side / ``context``, random aspect and
orientation, a little jitter), fills the hole by push-pull as the receiver does, measures
and quantises the hole's attributes as the transmitter does (dropped for a share of the
batch: the eavesdropper's mode), and minimises the pixel error of ``G(E(...))`` to ``x``
(public pixels weighted twice) plus a small prior on the latent.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from vlm_privsc.errors import ConfigError
from vlm_privsc.inpaint.face_encoder import COND, LATENT, FaceLatentEncoder, condition_vector
from vlm_privsc.inpaint.face_gan import GAN_SIZE, _lab, load_face_generator
from vlm_privsc.pushpull import pushpull
from vlm_privsc.semantics.attributes import ATTRIBUTES

CONTEXT = 0.8  # face_gan's default frame side / longest side of the region's box


@dataclass(frozen=True)
class SynthBatch:
    """Encoder inputs made from generator samples, and the samples themselves."""

    frame: torch.Tensor  # [B,4,64,64]: push-pull fill of the hole + visibility
    cond: torch.Tensor  # [B,COND]
    target: torch.Tensor  # [B,3,64,64] the sample in [0,1]
    visible: torch.Tensor  # [B,1,64,64] float
    z: torch.Tensor  # [B,100,1,1]


def _quantised(kind_values: dict[str, float]) -> tuple[dict[int, float], dict[str, float]]:
    """The targets a receiver told these raw attribute values would aim for (bin centres)."""
    target: dict[int, float] = {}
    shade: dict[str, float] = {}
    for name, value in kind_values.items():
        spec = ATTRIBUTES[name]
        centre = spec.centre(spec.quantise(value))
        if spec.kind == "mean":
            target[spec.channel] = centre
        else:
            shade[spec.kind] = centre
    return target, shade


def synth_batch(
    G: torch.nn.Module, n: int, gen: torch.Generator, drop: float = 0.3, context: float = CONTEXT
) -> SynthBatch:
    """``n`` training examples (see the module docstring); ``drop``: share without attributes."""
    z = torch.randn(n, LATENT, 1, 1, generator=gen)
    with torch.no_grad():
        x = (G(z) + 1) / 2
    s = GAN_SIZE
    yy, xx = torch.meshgrid(
        torch.arange(s, dtype=torch.float32) + 0.5, torch.arange(s, dtype=torch.float32) + 0.5, indexing="ij"
    )
    u = torch.rand(n, 5, generator=gen)
    long_r = s / 2 / context * (0.95 + 0.1 * u[:, 0])
    short_r = long_r * (0.65 + 0.35 * u[:, 1])
    tall = u[:, 2] < 0.85
    ry = torch.where(tall, long_r, short_r)[:, None, None]
    rx = torch.where(tall, short_r, long_r)[:, None, None]
    cx = (s / 2 + 3.0 * (u[:, 3] - 0.5))[:, None, None]
    cy = (s / 2 + 3.0 * (u[:, 4] - 0.5))[:, None, None]
    hole = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0)[:, None]
    fill = pushpull(x, hole)
    lab = _lab(x)
    conds = []
    keep = torch.rand(n, generator=gen) >= drop
    for i in range(n):
        h = hole[i, 0]
        if not bool(keep[i]) or not bool(h.any()):
            conds.append(condition_vector({}, {}))
            continue
        L, a, b = (float(lab[i, c][h].mean()) for c in range(3))
        right, left = h & (xx > cx[i]), h & (xx < cx[i])
        lower, upper = h & (yy > cy[i]), h & (yy < cy[i])
        sx = float(lab[i, 0][right].mean() - lab[i, 0][left].mean()) if right.any() and left.any() else 0.0
        sy = float(lab[i, 0][lower].mean() - lab[i, 0][upper].mean()) if lower.any() and upper.any() else 0.0
        target, shade = _quantised({"tone": L, "warmth": a, "tint": b, "shade_x": sx, "shade_y": sy})
        conds.append(condition_vector(target, shade))
    vis = (~hole).float()
    return SynthBatch(torch.cat([fill, vis], dim=1), torch.stack(conds), x, vis, z)


def encoder_loss(G: torch.nn.Module, enc: FaceLatentEncoder, b: SynthBatch, prior: float = 1e-3) -> torch.Tensor:
    """Pixel error of the encoded latent's face to the sample (public pixels twice) + a latent prior."""
    zh = enc(b.frame, b.cond)
    y = (G(zh) + 1) / 2
    w = 1.0 + b.visible
    return (w * (y - b.target) ** 2).mean() + prior * (zh**2).mean()


def hole_psnr(y: torch.Tensor, x: torch.Tensor, visible: torch.Tensor) -> float:
    """Mean over the batch of the PSNR inside the hole (images in [0, 1])."""
    hole = 1.0 - visible
    mse = (((y - x) ** 2) * hole).sum(dim=(1, 2, 3)) / (3 * hole.sum(dim=(1, 2, 3)).clamp_min(1.0))
    return float((10 * torch.log10(1.0 / mse.clamp_min(1e-10))).mean())


def random_candidates_psnr(G: torch.nn.Module, b: SynthBatch, k: int, gen: torch.Generator) -> float:
    """The reference without an encoder: the best of ``k`` random latents by the public
    pixels' error (after the same colour shift face_gan applies), scored in the hole."""
    outs = []
    with torch.no_grad():
        for i in range(b.target.shape[0]):
            zc = torch.randn(k, LATENT, 1, 1, generator=gen)
            f = (G(zc) + 1) / 2
            v = b.visible[i : i + 1]
            ctx = b.frame[i : i + 1, :3]
            shift = ((ctx - f) * v).sum(dim=(2, 3), keepdim=True) / v.sum().clamp_min(1.0)
            err = (((f + shift - ctx) * v) ** 2).sum(dim=(1, 2, 3))
            j = int(torch.argmin(err))
            outs.append((f[j : j + 1] + shift[j : j + 1]).clamp(0, 1))
    return hole_psnr(torch.cat(outs), b.target, b.visible)


@dataclass
class EncoderTrainReport:
    """What a training run did (written beside the exported weights)."""

    command: str
    steps: int
    seconds: float
    machine: str
    history: list[dict[str, float]] = field(default_factory=list)


def train_face_encoder(
    *,
    steps: int,
    batch: int,
    lr: float,
    seed: int,
    out: Path,
    export: Path | None,
    hours: float | None,
    resume: bool,
    eval_every: int,
    command: str,
    log: bool = True,
) -> EncoderTrainReport:
    """Train (or resume) the encoder; checkpoints in ``out``, weights exported to ``export``."""
    for name, value in (("steps", steps), ("batch", batch), ("eval_every", eval_every)):
        if value < 1:
            raise ConfigError(f"face-encoder training: {name.replace('_', '-')} must be >= 1, got {value}")
    if not lr > 0 or (hours is not None and not hours > 0):
        raise ConfigError(f"face-encoder training: lr and hours must be > 0, got lr={lr}, hours={hours}")
    if export is not None and export.suffix != ".safetensors":
        raise ConfigError(f"face-encoder training: --export must name a .safetensors file, got {export}")
    G = load_face_generator()
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.pt"
    torch.manual_seed(seed)
    enc = FaceLatentEncoder()
    opt = torch.optim.Adam(enc.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    start, spent, history = 0, 0.0, []
    if resume and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        enc.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        start, spent, history = int(state["step"]), float(state["seconds"]), list(state["history"])
    val = synth_batch(G, 128, torch.Generator().manual_seed(10_000 + seed))

    def save(step: int, seconds: float) -> None:
        tmp = ckpt.with_suffix(".tmp")
        torch.save(
            {
                "model": enc.state_dict(),
                "opt": opt.state_dict(),
                "gen": gen.get_state(),
                "step": step,
                "seconds": seconds,
                "history": history,
            },
            tmp,
        )
        os.replace(tmp, ckpt)

    def evaluate(step: int) -> None:
        enc.eval()
        with torch.no_grad():
            y = (G(enc(val.frame, val.cond)) + 1) / 2
        told = val.cond[:, -1] > 0
        row = {
            "step": float(step),
            "hole_psnr": hole_psnr(y, val.target, val.visible),
            "hole_psnr_told": hole_psnr(y[told], val.target[told], val.visible[told]),
            "hole_psnr_not_told": hole_psnr(y[~told], val.target[~told], val.visible[~told]),
        }
        history.append(row)
        enc.train()
        if log:
            print(f"step {step}/{steps} " + " ".join(f"{k} {v:.2f}" for k, v in row.items() if k != "step"), flush=True)

    t0 = time.perf_counter()
    step = start
    budget = None if hours is None else hours * 3600.0
    enc.train()
    while step < steps:
        if budget is not None and spent + time.perf_counter() - t0 >= budget:
            if log:
                print(f"time budget of {hours} h spent at step {step}/{steps}", flush=True)
            break
        for g in opt.param_groups:  # cosine decay after a short warm-up
            g["lr"] = lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / steps))
        b = synth_batch(G, batch, gen)
        opt.zero_grad()
        encoder_loss(G, enc, b).backward()
        opt.step()
        step += 1
        if step % eval_every == 0 or step == steps:
            evaluate(step)
            save(step, spent + time.perf_counter() - t0)
    seconds = spent + time.perf_counter() - t0
    save(step, seconds)
    report = EncoderTrainReport(
        command,
        step,
        round(seconds, 1),
        f"{platform.machine()} {os.cpu_count()} cpu, torch threads {torch.get_num_threads()}",
        history,
    )
    if export is not None:
        from safetensors.torch import save_file

        export.parent.mkdir(parents=True, exist_ok=True)
        enc.eval()
        save_file({k: v.contiguous() for k, v in enc.state_dict().items()}, str(export))
        ref = random_candidates_psnr(G, val, 12, torch.Generator().manual_seed(seed))
        meta = {**asdict(report), "reference_best_of_12_random_hole_psnr": ref, "cond": COND}
        export.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
        if log:
            print(
                f"wrote {export} (+ .json); best of 12 random latents on the same samples: {ref:.2f} dB in the hole",
                flush=True,
            )
    return report
