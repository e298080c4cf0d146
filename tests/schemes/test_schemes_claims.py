"""Pass/fail lines of the seed papers' claims, on hand-made rows."""

from __future__ import annotations

import math

from vlm_privsc.schemes.claims import dominates, minmax_claims, ordering_claims, perturbation_claims, wilson_interval


def mt(method: str, bob: float, eve: float, eve_ad: float | None = None) -> dict:
    return {
        "dataset": "mnist",
        "latent_dim": 8,
        "method": method,
        "bob_accuracy": bob,
        "eve_accuracy": eve,
        "eve_accuracy_adaptive": eve if eve_ad is None else eve_ad,
    }


def test_minmax_claim_needs_both_eve_drop_and_bob_within_tolerance():
    assert minmax_claims([mt("baseline", 0.95, 0.80), mt("minmax", 0.94, 0.55)])[0].startswith("PASS")
    assert minmax_claims([mt("baseline", 0.95, 0.80), mt("minmax", 0.90, 0.55)])[0].startswith("FAIL")
    assert minmax_claims([mt("baseline", 0.95, 0.80), mt("minmax", 0.95, 0.70)])[0].startswith("FAIL")
    assert minmax_claims([mt("baseline", 0.95, 0.80)]) == []


def test_perturbation_claims_one_line_per_eve():
    rows = [mt("baseline", 0.9, 0.8), mt("baseline+perturbation", 0.9, 0.6, 0.85)]
    lines = perturbation_claims(rows)
    assert len(lines) == 2 and lines[0].startswith("PASS") and "non-adaptive" in lines[0]
    assert lines[1].startswith("FAIL") and "adaptive Eve" in lines[1]
    small = perturbation_claims([mt("baseline", 0.9, 0.8), mt("baseline+perturbation", 0.9, 0.795)])
    assert small[0].startswith("FAIL (within noise)")


def test_ordering_claims_pass_fail_trade():
    def r(s: str, acc: float, ps: float) -> dict:
        return {"scheme": s, "snr_db": 10.0, "accuracy": acc, "attacker_psnr_db": ps}

    rows = [r("ibal", 0.8, 13.0), r("lbvq", 0.5, 13.5), r("dp_eps0.9", 0.6, 13.2), r("dp_eps0.1", 0.1, 12.0)]
    assert dominates(rows[0], rows[2]) and not dominates(rows[2], rows[2])
    lines = ordering_claims(rows, 10.0, perturbative=("dp_eps0.9", "dp_eps0.1"))
    assert [line.split()[0] for line in lines] == ["PASS", "TRADE", "FAIL", "TRADE"]
    assert ordering_claims(rows, 20.0) == []


def test_dominance_ignores_differences_within_measurement_noise():
    a = {"accuracy": 0.78, "attacker_psnr_db": 13.01}
    b = {"accuracy": 0.06, "attacker_psnr_db": 12.95}  # both at the attacker's floor
    assert dominates(a, b) and not dominates(b, a)
    c = {"accuracy": 0.785, "attacker_psnr_db": 13.0}
    assert not dominates(a, c) and not dominates(c, a)


def test_wilson_interval_brackets_the_accuracy():
    lo, hi = wilson_interval(0.85, 1017)
    assert lo < 0.85 < hi and 0.82 < lo and hi < 0.875
    assert wilson_interval(1.0, 10)[1] == 1.0 and all(math.isnan(v) for v in wilson_interval(0.5, 0))
