"""The seed papers' claims as explicit pass/fail lines over measured result rows.

- Min-max (adversarial training against a co-trained eavesdropper; e.g. M. Erdemir et al.,
  "Privacy-aware communication over a wiretap channel with generative networks", ICASSP
  2022, and the multi-task seed): Eve's accuracy falls by at least ``eve_drop`` while
  Bob's stays within ``bob_tol`` of the unprotected baseline.
- Cooperative adversarial perturbation (the multi-task seed's perturbation layer): Eve's
  accuracy falls against a non-adaptive Eve and against one retrained on perturbed symbols.
- The survey's ordering (Wang et al., IEEE TWC 2024, arXiv:2312.03252): learned schemes
  (IBAL, LBVQ) trade privacy for utility better than noise-perturbation schemes (DP):
  here, at one test SNR, scheme A *dominates* B when A's accuracy is at least B's and
  A's attacker PSNR at most B's (Pareto), one of them by more than the measurement noise
  (:func:`dominates`).

Every line quotes the numbers it was decided on; nothing is decided when a row is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

Row = Mapping[str, Any]

__all__ = ["dominates", "minmax_claims", "ordering_claims", "perturbation_claims", "wilson_interval"]


def _f(r: Row, k: str) -> float:
    return float(r[k])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _by(rows: Sequence[Row], *keys: str) -> dict[tuple[str, ...], Row]:
    return {tuple(str(r[k]) for k in keys): r for r in rows}


def minmax_claims(rows: Sequence[Row], eve_drop: float = 0.20, bob_tol: float = 0.02) -> list[str]:
    """One line per (dataset, latent_dim): min-max vs baseline (``repro_multitask`` rows)."""
    idx = _by(rows, "dataset", "latent_dim", "method")
    out = []
    for ds, lat in dict.fromkeys((str(r["dataset"]), str(r["latent_dim"])) for r in rows):
        b, m = idx.get((ds, lat, "baseline")), idx.get((ds, lat, "minmax"))
        if b is None or m is None:
            continue
        de = _f(b, "eve_accuracy") - _f(m, "eve_accuracy")
        db = _f(b, "bob_accuracy") - _f(m, "bob_accuracy")
        ok = de >= eve_drop and db <= bob_tol
        out.append(
            f"{_verdict(ok)} min-max, {ds} latent {lat}: Eve {_f(b, 'eve_accuracy'):.3f} -> {_f(m, 'eve_accuracy'):.3f} "
            f"({-100 * de:+.1f} points, need <= {-100 * eve_drop:.0f}); Bob {_f(b, 'bob_accuracy'):.3f} -> "
            f"{_f(m, 'bob_accuracy'):.3f} ({-100 * db:+.1f} points, need >= {-100 * bob_tol:.0f})"
        )
    return out


def perturbation_claims(rows: Sequence[Row], tol: float = 0.015) -> list[str]:
    """Per (dataset, latent, base method): does the perturbation lower Eve's accuracy by more
    than ``tol`` (~1 standard error on 1,000 test images) against a non-adaptive Eve
    (``eve_accuracy``) and an adaptive one (``eve_accuracy_adaptive``)?"""
    idx = _by(rows, "dataset", "latent_dim", "method")
    out = []
    for ds, lat, meth in dict.fromkeys((str(r["dataset"]), str(r["latent_dim"]), str(r["method"])) for r in rows):
        p = idx.get((ds, lat, f"{meth}+perturbation"))
        if "+" in meth or p is None:
            continue
        b = idx[(ds, lat, meth)]
        e0 = _f(b, "eve_accuracy")
        for col, who in (("eve_accuracy", "non-adaptive"), ("eve_accuracy_adaptive", "adaptive")):
            e1 = _f(p, col)
            verdict = _verdict(e0 - e1 > tol) + (" (within noise)" if abs(e1 - e0) <= tol else "")
            out.append(
                f"{verdict} perturbation on {meth}, {ds} latent {lat}, {who} Eve: {e0:.3f} -> {e1:.3f} "
                f"({100 * (e1 - e0):+.1f} points); Bob {_f(b, 'bob_accuracy'):.3f} -> {_f(p, 'bob_accuracy'):.3f}"
            )
    return out


def dominates(a: Row, b: Row, acc_tol: float = 0.015, psnr_tol: float = 0.1) -> bool:
    """``a`` Pareto-dominates ``b`` beyond measurement noise: accuracy no worse than ``b``'s by
    more than ``acc_tol`` and attacker PSNR no higher by more than ``psnr_tol`` dB, and better
    in one of them by more than its tolerance (defaults: ~1 standard error of the accuracy on
    1,017 test images; 0.1 dB of attacker PSNR)."""
    acc_a, acc_b = _f(a, "accuracy"), _f(b, "accuracy")
    ps_a, ps_b = _f(a, "attacker_psnr_db"), _f(b, "attacker_psnr_db")
    no_worse = acc_a >= acc_b - acc_tol and ps_a <= ps_b + psnr_tol
    return no_worse and (acc_a > acc_b + acc_tol or ps_a < ps_b - psnr_tol)


def ordering_claims(
    rows: Sequence[Row],
    snr_db: float,
    learned: Sequence[str] = ("ibal", "lbvq"),
    perturbative: Sequence[str] = ("dp_eps0.05", "dp_eps0.1", "dp_eps0.9"),
) -> list[str]:
    """At ``snr_db``: PASS when the learned scheme dominates the DP scheme, FAIL when it is
    dominated, TRADE when neither dominates (the claim is then not supported either way)."""
    at = {str(r["scheme"]): r for r in rows if abs(float(r["snr_db"]) - snr_db) < 1e-6}
    out = []
    for a in learned:
        for b in perturbative:
            if a not in at or b not in at:
                continue
            ra, rb = at[a], at[b]
            verdict = "PASS" if dominates(ra, rb) else "FAIL" if dominates(rb, ra) else "TRADE"
            out.append(
                f"{verdict} {a} vs {b} at {snr_db:g} dB: accuracy {_f(ra, 'accuracy'):.3f} vs {_f(rb, 'accuracy'):.3f}, "
                f"attacker PSNR {_f(ra, 'attacker_psnr_db'):.2f} vs {_f(rb, 'attacker_psnr_db'):.2f} dB"
            )
    return out


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of an accuracy ``p`` measured on ``n`` test images (95% at z=1.96;
    E. B. Wilson, JASA 1927). The confidence interval of one trained model's test accuracy,
    not of the training's seed-to-seed spread."""
    if n <= 0:
        return (float("nan"), float("nan"))
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))
