r"""The common interface of the privacy schemes and their registry.

A scheme sits between the JSCC encoder and the channel::

    x -> encoder -> z --scheme.apply(z, g)--> z' -> channel(Bob) -> y_b --scheme.invert(y_b, g)--> decoder (Bob)
                                               \-> channel(Eve) -> y_e --scheme.eavesdrop(y_e)----> Eve's attacker

``z`` is what :meth:`vlm_privsc.jscc.DeepJSCC.encode` produces: complex symbols ``[B, k]``
with unit average power per symbol (DESIGN.md). ``apply`` runs at the transmitter,
``invert`` at a receiver that holds the key / knowledge the scheme shares with the
transmitter (Bob), ``eavesdrop`` is the best an eavesdropper can do with public
knowledge only (Kerckhoffs: Eve knows the architecture and every public parameter,
never a key).

Two kinds of schemes (``Scheme.stage``):

- ``"transmit"``: something is done to the symbols at transmit time (DP noise, keyed
  shuffling, the cooperative perturbation, LBVQ quantisation + QAM). The pipeline calls
  ``apply`` before the channel and ``invert`` after Bob's channel.
- ``"train"``: the protection lives in the trained weights (IBAL, min-max); at transmit
  time ``apply``/``invert`` are the identity. Their objects carry the loss weights and
  the train steps used by :mod:`vlm_privsc.schemes.training`.

Every random draw takes a seeded :class:`torch.Generator`. For keyed schemes with
per-message randomness (:class:`~vlm_privsc.schemes.shuffle.KeyedShuffle`), Bob must call
``invert`` with a generator in the same state as the one the transmitter gave to
``apply`` (e.g. both ``torch.Generator().manual_seed(s)``; ``s`` is public).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from vlm_privsc.errors import ConfigError, InputError
from vlm_privsc.registry import Registry

Stage = Literal["transmit", "train"]


def check_symbols(z: Tensor, who: str) -> None:
    """``z`` must be complex ``[B, k]`` (the JSCC encoder's output)."""
    if not torch.is_tensor(z) or not torch.is_complex(z) or z.dim() != 2:
        shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
        dtype = z.dtype if torch.is_tensor(z) else ""
        raise InputError(f"{who}: needs complex symbols [B, k] from the JSCC encoder, got {dtype} {shape}")


def scheme_seed(generator: torch.Generator | None) -> int:
    """A seed for a scheme's own generator, drawn from ``generator``."""
    return int(torch.randint(0, 2**62, (1,), generator=generator))


def _gen(seed: int, like: Tensor) -> torch.Generator:
    return torch.Generator(device=like.device).manual_seed(seed)


class Scheme(nn.Module):
    """Base class of a privacy scheme (an ``nn.Module`` so that learned ones train).

    Subclasses set ``name``, ``stage`` and ``keyed`` and override :meth:`apply` (and
    :meth:`invert` when Bob can undo something). ``forward`` is ``apply``.
    """

    name: ClassVar[str] = "scheme"
    stage: ClassVar[Stage] = "transmit"
    keyed: ClassVar[bool] = False
    """True when Bob holds a secret that Eve lacks (``eavesdrop`` is then not ``invert``)."""

    def apply(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:  # type: ignore[override]
        """Transmitter: symbols ``[B, k]`` -> symbols to send (unit average power)."""
        check_symbols(z, self.name)
        return z

    def invert(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Legitimate receiver (holds the key): received symbols -> the decoder's input."""
        check_symbols(y, self.name)
        return y

    def eavesdrop(self, y: Tensor) -> Tensor:
        """What an eavesdropper without the key can compute from her received symbols."""
        if self.keyed:
            check_symbols(y, self.name)
            return y
        return self.invert(y)

    def roundtrip(self, z: Tensor, channel: nn.Module, snr_db: Any, generator: torch.Generator | None = None) -> Tensor:
        """Bob's whole link for training and evaluation: ``invert(channel(apply(z)))``.

        The scheme's randomness (nonces, DP noise) is drawn from a generator seeded from
        ``generator``, and Bob's ``invert`` gets a generator seeded the same way (the
        shared, public seed). Differentiable wherever the scheme is (LBVQ overrides
        this with its straight-through estimator).
        """
        seed = scheme_seed(generator)
        sent = self.apply(z, _gen(seed, z))
        return self.invert(channel(sent, snr_db, generator), _gen(seed, z))

    def intercept(self, z: Tensor, channel: nn.Module, snr_db: Any, generator: torch.Generator | None = None) -> Tensor:
        """Eve's view of ``z`` sent through her channel: ``eavesdrop(channel(apply(z)))``."""
        sent = self.apply(z, _gen(scheme_seed(generator), z))
        return self.eavesdrop(channel(sent, snr_db, generator))

    def aux_loss(self) -> Tensor:
        """An extra training loss of the last ``apply`` (LBVQ's codebook + commitment); 0 otherwise."""
        return torch.zeros(())

    def forward(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.apply(z, generator)

    def unmet_needs(self) -> str | None:
        """Why this scheme, as built, cannot act on its own (e.g. a model it was not given), or None."""
        return None

    def describe(self) -> dict[str, Any]:
        """Name, stage and parameters (for result files)."""
        return {"name": self.name, "stage": self.stage, "keyed": self.keyed, **self._params()}

    def _params(self) -> dict[str, Any]:
        return {}


SCHEMES: Registry[Scheme] = Registry("privacy scheme")


def build_scheme(name: str, **params: Any) -> Scheme:
    """Build a scheme by registry name (see :data:`SCHEMES`); bad parameters raise ConfigError."""
    return SCHEMES.build(name, **params)


def build_transmit_scheme(name: str, **params: Any) -> Scheme:
    """A scheme that acts on an already trained codec at transmit time, ready to run
    (for ``vlmsc run`` / ``vlmsc eval``); anything else is one clear ConfigError."""
    sch = build_scheme(name, **params)
    if sch.stage != "transmit":
        raise ConfigError(
            f"scheme {name!r} is applied at training time; the pipeline's shipped codec was not trained "
            "with it (use scripts/repro_survey.py or repro_multitask.py)"
        )
    why = sch.unmet_needs()
    if why:
        raise ConfigError(f"scheme {name!r}: {why}")
    return sch.eval()


@SCHEMES.register("none")
class NoScheme(Scheme):
    """Plain DeepJSCC: nothing between encoder and channel (the survey's baseline)."""

    name = "none"
