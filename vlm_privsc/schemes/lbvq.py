"""DeepJSCC-LBVQ: a learned vector-quantisation codebook whose indices travel as QAM symbols.

References: A. van den Oord, O. Vinyals, K. Kavukcuoglu, "Neural Discrete
Representation Learning", NeurIPS 2017 (VQ-VAE: straight-through gradients, codebook
and commitment losses, commitment weight 0.25); the DeepJSCC-LBVQ scheme of the
privacy survey this harness reproduces (learning-based VQ + digital modulation: the
eavesdropper receives only codebook indices, a few bits per feature group).

::

    z [B,k] complex -> 2k reals -> m = 2k/d vectors of d reals --nearest of M codewords--> indices [B,m]
        -> Gray M-QAM symbols [B,m] (one symbol per index, M = 16 -> 16-QAM)  ==channel==>
        hard-decision demapping -> indices (with real symbol errors) -> codewords -> z_hat [B,k]

    training:  z_hat_st = v + sg(c[idx_rx] - v)   (straight-through, with the channel's real
               symbol errors in the forward pass);
               aux = ||sg(v) - c[idx]||^2 + beta ||v - sg(c[idx])||^2,  beta = 0.25

Power: the QAM constellation has unit average power over its points, so the sent power is 1
on average when the indices are used uniformly; one image's power depends on its indices
(at most 1.8 for 16-QAM), as for any digital scheme with a fixed constellation.

The codebook is a public model parameter: Eve demaps and looks it up too (``keyed =
False``); the privacy comes from the few bits sent (``m log2 M`` per image). With
``dim=2`` one complex latent symbol becomes one QAM symbol, so the channel uses equal
those of the analogue schemes.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vlm_privsc.channel.qam import QAM
from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.schemes.base import SCHEMES, Scheme, check_symbols


@SCHEMES.register("lbvq")
class LBVQ(Scheme):
    """Learned codebook of ``num_codewords`` vectors of ``dim`` reals; indices sent as M-QAM."""

    name = "lbvq"
    constellation: Tensor  # a buffer (register_buffer below)
    stage = "transmit"

    def __init__(
        self, num_codewords: int = 16, dim: int = 2, commitment: float = 0.25, init_scale: float = 0.7
    ) -> None:
        super().__init__()
        if num_codewords not in QAM.ORDERS:
            raise ConfigError(
                f"lbvq scheme: num_codewords must be a QAM order {QAM.ORDERS} "
                f"(one index per QAM symbol), got {num_codewords}"
            )
        if dim <= 0:
            raise ConfigError(f"lbvq scheme: dim must be positive, got {dim}")
        self.qam = QAM(num_codewords)
        self.num_codewords = int(num_codewords)
        self.dim = int(dim)
        self.commitment = float(commitment)
        self.codebook = nn.Parameter(torch.randn(num_codewords, dim) * init_scale)
        points = self.qam.constellation()
        self.register_buffer("constellation", points, persistent=False)
        self._aux: Tensor = torch.zeros(())

    # --- quantisation ---------------------------------------------------------------
    def vectors(self, z: Tensor) -> Tensor:
        """Complex ``[B,k]`` -> ``[B, m, dim]`` real vectors (``m = 2k/dim``)."""
        check_symbols(z, self.name)
        r = torch.view_as_real(z.to(torch.complex64)).reshape(z.shape[0], -1)
        if r.shape[1] % self.dim:
            raise InputError(f"lbvq: {r.shape[1]} real features are not a multiple of dim={self.dim}")
        return r.reshape(z.shape[0], -1, self.dim)

    def quantize(self, z: Tensor) -> Tensor:
        """Nearest-codeword indices ``[B, m]``; stores the codebook + commitment loss (``aux_loss``)."""
        v = self.vectors(z)
        d = (v.unsqueeze(-2) - self.codebook).square().sum(-1)  # [B, m, M]
        idx = d.argmin(-1)
        e = self.codebook[idx]
        self._aux = F.mse_loss(e, v.detach()) + self.commitment * F.mse_loss(v, e.detach())
        return idx

    def dequantize(self, idx: Tensor) -> Tensor:
        """Indices ``[B, m]`` -> complex symbols ``[B, m*dim/2]`` (the codewords)."""
        v = self.codebook[idx].reshape(idx.shape[0], -1)
        if v.shape[1] % 2:
            raise InputError(f"lbvq: {v.shape[1]} reals cannot form complex symbols; use an even m*dim")
        return torch.view_as_complex(v.reshape(idx.shape[0], -1, 2).contiguous())

    # --- digital modulation -------------------------------------------------------------
    def modulate(self, idx: Tensor) -> Tensor:
        """Indices -> Gray M-QAM symbols (unit average power), one per index."""
        return self.constellation.to(idx.device)[idx]

    def demodulate(self, y: Tensor) -> Tensor:
        """Received symbols -> hard-decision indices (nearest constellation point)."""
        bits = self.qam.demodulate(y).reshape(y.shape[0], y.shape[1], self.qam.bits_per_symbol)
        w = 2 ** torch.arange(self.qam.bits_per_symbol - 1, -1, -1, device=y.device)
        return (bits.long() * w).sum(-1)

    # --- scheme interface -----------------------------------------------------------------
    def apply(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:  # type: ignore[override]
        return self.modulate(self.quantize(z))

    def invert(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        check_symbols(y, self.name)
        return self.dequantize(self.demodulate(y))

    def roundtrip(self, z: Tensor, channel: nn.Module, snr_db: Any, generator: torch.Generator | None = None) -> Tensor:
        """Quantise, send the QAM symbols through ``channel``, demap, and pass gradients
        straight through to ``z`` (the forward value has the real symbol errors)."""
        idx = self.quantize(z)
        rx = self.demodulate(channel(self.modulate(idx), snr_db, generator))
        zq = self.dequantize(rx)
        return z + (zq - z).detach()

    def aux_loss(self) -> Tensor:
        return self._aux

    @torch.no_grad()
    def init_from(self, z: Tensor, generator: torch.Generator | None = None) -> None:
        """Initialise the codewords from random latent vectors of ``z`` (k-means++-free seeding)."""
        v = self.vectors(z).reshape(-1, self.dim)
        pick = torch.randperm(v.shape[0], generator=generator)[: self.num_codewords]
        self.codebook.copy_(v[pick])

    def bits_per_image(self, k: int) -> int:
        """Bits sent for ``k`` complex latent symbols."""
        return (2 * k // self.dim) * self.qam.bits_per_symbol

    def _params(self) -> dict[str, Any]:
        return {"num_codewords": self.num_codewords, "dim": self.dim, "commitment": self.commitment}
