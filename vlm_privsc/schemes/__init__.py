"""Privacy schemes of the literature in one harness (DESIGN.md: between JSCC encoder and channel).

Registry :data:`SCHEMES`, built with :func:`build_scheme(name, **params) <build_scheme>`:

============  =========  =====  =====================================================================
name          stage      keyed  what
============  =========  =====  =====================================================================
none          transmit   no     plain DeepJSCC (identity)
dp            transmit   no     DeepJSCC-DP: clip + Laplace noise, scale = sensitivity/epsilon
shuffle       transmit   yes    DeepJSCC-Encryption: key-guided feature permutation (per message)
perturbation  transmit   no     cooperative adversarial perturbation (PGD vs a surrogate Eve), power budget
lbvq          transmit   no     DeepJSCC-LBVQ: learned 16-entry codebook, indices as 16-QAM symbols
ibal          train      no     IBAL: VIB encoder + attacker retrained each epoch (identity at transmit)
minmax        train      no     iterative min-max vs a trained eavesdropper (identity at transmit)
============  =========  =====  =====================================================================

How the pipeline calls a scheme (``z = jscc.encode(x)``, complex ``[B, k]``, unit power)::

    g = torch.Generator().manual_seed(s)          # s: a public per-message seed
    sent = scheme.apply(z, g)                      # transmitter
    z_bob = scheme.invert(channel(sent, snr, gb), torch.Generator().manual_seed(s))   # Bob
    z_eve = scheme.eavesdrop(channel(sent, eve_snr, ge))                               # Eve (no key)

LBVQ's ``apply`` returns QAM symbols (one per index); its ``invert``/``eavesdrop`` return
the decoder's input (codewords). Train-time schemes are the identity there; their
training loops are in :mod:`vlm_privsc.schemes.training`. Attackers: :mod:`vlm_privsc.attacks`.
"""

from vlm_privsc.schemes.base import SCHEMES, NoScheme, Scheme, build_scheme, build_transmit_scheme, check_symbols
from vlm_privsc.schemes.dp import LaplaceDP, laplace_noise
from vlm_privsc.schemes.ibal import IBAL
from vlm_privsc.schemes.lbvq import LBVQ
from vlm_privsc.schemes.minmax import MinMaxTraining
from vlm_privsc.schemes.models import TaskJSCC
from vlm_privsc.schemes.perturbation import CooperativePerturbation
from vlm_privsc.schemes.shuffle import KeyedShuffle, keyed_permutation
from vlm_privsc.schemes.training import LinkResult, evaluate_link, train_ibal, train_link, train_minmax

TRANSMIT_SCHEMES = ("none", "dp", "shuffle", "perturbation", "lbvq")
TRAIN_SCHEMES = ("ibal", "minmax")

__all__ = [
    "IBAL",
    "LBVQ",
    "SCHEMES",
    "TRAIN_SCHEMES",
    "TRANSMIT_SCHEMES",
    "CooperativePerturbation",
    "KeyedShuffle",
    "LaplaceDP",
    "LinkResult",
    "MinMaxTraining",
    "NoScheme",
    "Scheme",
    "TaskJSCC",
    "build_scheme",
    "build_transmit_scheme",
    "check_symbols",
    "evaluate_link",
    "keyed_permutation",
    "laplace_noise",
    "train_ibal",
    "train_link",
    "train_minmax",
]
