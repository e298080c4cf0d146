"""Aggregate evaluation rows into per-configuration figures and the leakage reduction."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from vlm_privsc.db import BASELINE_POLICY


def _f(v: Any) -> float | None:
    if v in (None, ""):
        return None
    x = float(v)
    return None if math.isnan(x) else x


def _mean(vals: list[float | None]) -> float | None:
    xs = [v for v in vals if v is not None and not math.isinf(v)]
    return round(sum(xs) / len(xs), 4) if xs else None


def _ratio(num: list[float | None], den: list[float | None]) -> float | None:
    """Pooled ratio sum(num) / sum(den) over the rows that have both (None without any)."""
    pairs = [(a, b) for a, b in zip(num, den) if a is not None and b is not None]
    total = sum(b for _, b in pairs)
    return round(sum(a for a, _ in pairs) / total, 4) if total else None


def _diff(a: Any, b: Any) -> float | None:
    """``a - b`` of two row values (None if either is missing)."""
    fa, fb = _f(a), _f(b)
    return None if fa is None or fb is None else fa - fb


def config_key(r: dict[str, Any]) -> tuple[str, str, str, float, float]:
    return (r["policy"], r["scheme"], r["channel"], float(r["bob_snr_db"]), float(r["eve_snr_db"]))


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"by_config": [...], "leakage_reduction": {...}}`` (see the issue for fields).

    The reduction of a configuration is ``1 - match rate / match rate of policy none`` at
    the same scheme, channel and SNRs (None when the baseline never matched). The change of
    Bob's non-private PSNR is paired: per photo, the guarded restoration against the
    unguarded one on the same (the guarded run's non-private) pixels, then averaged.
    """
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[config_key(r)].append(r)
    by_config = []
    for (policy, scheme, channel, b, e), rs in sorted(groups.items()):
        by_config.append(
            {
                "policy": policy,
                "scheme": scheme,
                "channel": channel,
                "bob_snr_db": b,
                "eve_snr_db": e,
                "eve_match_rate": _mean([_f(r["eve_match"]) for r in rs]),
                "eve_reid_top1": _mean([_f(r["eve_reid_top1"]) for r in rs]),
                "eve_similarity_mean": _mean([_f(r["eve_similarity"]) for r in rs]),
                "eve_psnr_db": _mean([_f(r["eve_psnr_db"]) for r in rs]),
                "bob_psnr_db": _mean([_f(r["bob_psnr_db"]) for r in rs]),
                "bob_ssim": _mean([_f(r["bob_ssim"]) for r in rs]),
                "bob_psnr_nonprivate_db": _mean([_f(r["bob_psnr_nonprivate_db"]) for r in rs]),
                "bob_nonprivate_change_db": _mean(
                    [_diff(r.get("bob_psnr_nonprivate_db"), r.get("bob_psnr_nonprivate_none_db")) for r in rs]
                ),
                "bob_match_rate": _mean([_f(r["bob_match"]) for r in rs]),
                "bob_similarity_mean": _mean([_f(r["bob_similarity"]) for r in rs]),
                "bob_category_ok": _mean([_f(r["bob_category_ok"]) for r in rs]),
                "eve_category_ok": _mean([_f(r["eve_category_ok"]) for r in rs]),
                "eve_category_from_shape_ok": _mean([_f(r.get("eve_category_from_shape_ok")) for r in rs]),
                "guard_face_coverage": _mean([_f(r["guard_face_coverage"]) for r in rs]),
                "guard_label_recall": _ratio(
                    [_f(r.get("labels_covered")) for r in rs], [_f(r.get("n_labels")) for r in rs]
                ),
                "n": len(rs),
                "n_with_face": sum(1 for r in rs if _f(r["eve_match"]) is not None),
            }
        )
    base = {
        (c["scheme"], c["channel"], c["bob_snr_db"], c["eve_snr_db"]): c
        for c in by_config
        if c["policy"] == BASELINE_POLICY
    }
    reduction: dict[str, Any] = {}
    for c in by_config:
        if c["policy"] == BASELINE_POLICY:
            continue
        b = base.get((c["scheme"], c["channel"], c["bob_snr_db"], c["eve_snr_db"]))
        key = f"{c['policy']}|{c['scheme']}|{c['channel']}|bob{c['bob_snr_db']:g}|eve{c['eve_snr_db']:g}"
        if b is None or not b["eve_match_rate"] or c["eve_match_rate"] is None:
            reduction[key] = None
            continue
        d_np = c["bob_nonprivate_change_db"]
        reduction[key] = {
            "leakage_reduction": round(1.0 - c["eve_match_rate"] / b["eve_match_rate"], 4),
            "match_rate": c["eve_match_rate"],
            "match_rate_none": b["eve_match_rate"],
            "bob_nonprivate_psnr_change_db": d_np,
        }
    return {"by_config": by_config, "leakage_reduction": reduction}
