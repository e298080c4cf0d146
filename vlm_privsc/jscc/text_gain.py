"""Does a received text embedding help the DeepJSCC decoder? A controlled experiment.

The semantic-communication claim measured here: a decoder that also receives a text
embedding of the image content (FiLM-conditioned, :func:`with_text_conditioning`)
restores the image better at low SNR than *the same decoder without text*.

Protocol (``scripts/repro_text_gain.py`` runs it on CIFAR-10):

::

    shipped encoder (frozen) -> channel -> decoder copy A  (FiLM on the class prompt's embedding)
                                        -> decoder copy B  (FiLM on one constant embedding: no information)

- both copies start from the same shipped decoder, have the same parameters, and are
  fine-tuned for the same steps on the same batches, SNRs and noise draws: the only
  difference is whether the embedding carries the class;
- the encoder stays frozen, so the symbols on the air are exactly the shipped ones;
- at test time A's embedding is the one it *received*: the class prompt's embedding sent
  as analog symbols over the same channel at the same SNR and snapped to the nearest
  class prompt (as Bob snaps to the privacy database); A is also run with a wrong
  class's embedding, to show how much it relies on the text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vlm_privsc.channel.base import Channel
from vlm_privsc.jscc.evaluate import to_tensor
from vlm_privsc.jscc.models import DeepJSCC, with_text_conditioning
from vlm_privsc.jscc.train import warmup_cosine
from vlm_privsc.semantics.transport import from_symbols, to_symbols


@dataclass(frozen=True)
class FinetuneOptions:
    """Decoder fine-tuning: Adam, linear warm-up then cosine decay, MSE loss."""

    steps: int = 3000
    batch: int = 64
    lr: float = 5e-4
    warmup: int = 100
    snr_min: float = 0.0
    snr_max: float = 20.0
    seed: int = 0


def text_decoder(base: DeepJSCC, text_dim: int) -> DeepJSCC:
    """A copy of ``base`` with a FiLM text decoder; its encoder is frozen."""
    model = with_text_conditioning(base, text_dim)
    for p in model.enc.parameters():
        p.requires_grad_(False)
    for p in model.enc_out.parameters():
        p.requires_grad_(False)
    return model


def finetune_decoder(
    model: DeepJSCC,
    images: np.ndarray,
    cond: Tensor,
    channel: Channel,
    opts: FinetuneOptions,
    log: Callable[[str], None] | None = None,
    log_every: int = 500,
) -> list[float]:
    """Fine-tune the decoder of ``model`` on ``images`` (uint8 ``[N,H,W,3]``), each image
    decoded with its row of ``cond`` (``[N, D]``). Batches, flips, SNRs and channel noise
    depend only on ``opts.seed``, so two calls with the same options see identical data.
    Returns the training loss (MSE) averaged over each ``log_every`` steps."""
    if len(images) != len(cond):
        raise ValueError(f"{len(images)} images but {len(cond)} conditioning rows")
    rng = np.random.default_rng(opts.seed)
    gen = torch.Generator().manual_seed(opts.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.Adam(params, lr=opts.lr)

    sched = torch.optim.lr_scheduler.LambdaLR(optim, warmup_cosine(opts.warmup, opts.steps))
    model.train()
    losses: list[float] = []
    window: list[float] = []
    for step in range(opts.steps):
        idx = rng.integers(0, len(images), opts.batch)
        batch = images[idx]
        flip = rng.random(opts.batch) < 0.5
        batch[flip] = batch[flip, :, ::-1]
        x = to_tensor(batch)
        snr = torch.empty(opts.batch).uniform_(opts.snr_min, opts.snr_max, generator=gen)
        with torch.no_grad():
            z = model.encode(x, snr)
        y = channel(z, snr, gen)
        out = model.decode(y, snr, size=(x.shape[2], x.shape[3]), text_emb=cond[idx])
        loss = F.mse_loss(out, x)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        window.append(float(loss.detach()))
        if len(window) == log_every or step == opts.steps - 1:
            losses.append(float(np.mean(window)))
            if log:
                log(
                    f"  step {step + 1}/{opts.steps}: MSE {losses[-1]:.5f} "
                    f"({-10 * math.log10(max(losses[-1], 1e-10)):.2f} dB)"
                )
            window = []
    model.eval()
    return losses


@dataclass(frozen=True)
class ReceivedText:
    """What the receiver makes of the embeddings sent over the channel."""

    embeddings: Tensor  # [N, D]: the snapped class prompt embedding of each image
    predicted: Tensor  # [N]: the class index it snapped to
    accuracy: float  # share snapped to the right class


@torch.no_grad()
def send_class_text(
    table: Tensor, labels: Sequence[int] | Tensor, channel: Channel, snr_db: float, seed: int = 0
) -> ReceivedText:
    """Send each image's class-prompt embedding (``table[label]``) as analog symbols
    (``D/2`` complex, power 1, as :mod:`vlm_privsc.semantics.transport` does) over
    ``channel`` at ``snr_db``; snap each received vector to the nearest row of ``table``."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    n, d = len(labels), table.shape[1]
    gen = torch.Generator().manual_seed(seed)
    sym = to_symbols(table[labels]).reshape(n, -1)
    rx = channel(sym, snr_db, gen).reshape(-1)
    vec = F.normalize(from_symbols(rx, n, d), dim=-1)
    pred = (vec @ F.normalize(table, dim=-1).T).argmax(dim=1)
    return ReceivedText(embeddings=table[pred], predicted=pred, accuracy=float((pred == labels).float().mean()))


def relative_change(new: float, old: float) -> float:
    """``(new - old) / |old|`` (nan when ``old`` is 0)."""
    return (new - old) / abs(old) if old else float("nan")


class PuncturedJSCC(torch.nn.Module):
    """A DeepJSCC model sent at a lower bandwidth ratio and at SNRs below its trained range.

    ``keep``: the share of the model's symbols that go on the air (the first ones: whole
    latent channels, since symbols are laid out channel by channel); the decoder receives
    zeros for the rest, so ``adjscc-r1_12`` with ``keep=0.5`` sends k/n = 1/24. The kept
    symbols are rescaled to unit average power. ``encoder_snr``: the range the frozen
    encoder's SNR input is clamped to (the range it was trained on, as the pipeline does);
    the decoder, which is fine-tuned, is told the true SNR.
    """

    def __init__(self, model: DeepJSCC, keep: float = 1.0, encoder_snr: tuple[float, float] = (0.0, 20.0)) -> None:
        super().__init__()
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"keep must be in (0, 1], got {keep}")
        self.model, self.keep, self.encoder_snr = model, float(keep), encoder_snr

    @property
    def config(self):  # the wrapped model's (text_dim, ratio, ...)
        return self.model.config

    def kept(self, k: int) -> int:
        return max(1, int(round(k * self.keep)))

    def encode(self, x: Tensor, snr_db) -> Tensor:
        snr = torch.as_tensor(snr_db, dtype=torch.float32).clamp(*self.encoder_snr)
        z = self.model.encode(x, snr)
        zk = z[:, : self.kept(z.shape[1])]
        return zk / zk.abs().pow(2).mean(dim=1, keepdim=True).sqrt().clamp_min(1e-12)

    def decode(self, y: Tensor, snr_db, size: tuple[int, int], text_emb: Tensor | None = None) -> Tensor:
        k = self.model.channel_uses(*size)
        full = torch.zeros(y.shape[0], k, dtype=y.dtype, device=y.device)
        full[:, : y.shape[1]] = y
        return self.model.decode(full, snr_db, size=size, text_emb=text_emb)

    def forward(
        self,
        x: Tensor,
        channel: Channel,
        snr_db,
        generator: torch.Generator | None = None,
        text_emb: Tensor | None = None,
    ) -> Tensor:
        y = channel(self.encode(x, snr_db), snr_db, generator)
        return self.decode(y, snr_db, size=(x.shape[2], x.shape[3]), text_emb=text_emb)
