"""Add the separation columns of an earlier ``vlmsc bench jscc`` run to a run made with
``--no-separation`` (the separation reference depends only on the images, their channel uses
``k``, the SNR, the channel and the seed, not on the DeepJSCC model; each row's ``k`` and the
seeds are checked to match). Saves the hour of HEIC/AVIF encodes a full re-run costs without
the cache.

    python scripts/jscc_merge_separation.py NEW.json REFERENCE.json --json OUT.json --markdown OUT.md --plots DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vlm_privsc.jscc.bench import markdown_table, plot_report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("new")
    ap.add_argument("reference")
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--plots")
    a = ap.parse_args(argv)
    new = json.loads(Path(a.new).read_text())
    ref = json.loads(Path(a.reference).read_text())
    if new["seed"] != ref["seed"]:
        raise SystemExit(f"seeds differ: {new['seed']} vs {ref['seed']}")

    def key(r: dict) -> tuple:
        return (r["dataset"], r["channel"], r["snr_db"], r["ratio"])

    table = {key(r): r for r in ref["results"]}
    for r in new["results"]:
        s = table.get(key(r))
        if s is None:
            raise SystemExit(f"no reference row for {key(r)}")
        if s["channel_uses_mean"] != r["channel_uses_mean"] or s["n_images"] != r["n_images"]:
            raise SystemExit(f"row {key(r)}: channel uses or image count differ")
        for k, v in s.items():
            if k.startswith(("sep_", "best_sep_")):
                r[k] = v
        for pre, g in (("sep_", "gain_db"), ("best_sep_", "best_gain_db")):
            if f"{pre}psnr_db" in s:
                ref_psnr = s[f"{pre}psnr_db"]
                r[g] = None if ref_psnr is None else round(r["psnr_db"] - ref_psnr, 3)
    for k in ("separation_reference", "best_separation_reference", "codec_versions"):
        new[k] = ref.get(k)
    new["separation_columns_from"] = {
        "file": a.reference,
        "command": ref["command"],
        "created": ref["created"],
        "merged_by": "python scripts/jscc_merge_separation.py " + f"{a.new} {a.reference}",
    }
    Path(a.json).write_text(json.dumps(new, indent=1) + "\n")
    if a.markdown:
        Path(a.markdown).write_text(markdown_table(new))
    if a.plots:
        plot_report(new, a.plots)

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
