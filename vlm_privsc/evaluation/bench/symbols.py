"""Share of the image symbols the mask-aware codec sends, per photo, for a guard policy.

The mask-aware DeepJSCC code (``DeepJSCC.symbol_keep``) never sends the symbols of latent
blocks that lie wholly inside the private mask. This prints how many are sent on a set
of photos (the guard and the encoder's bookkeeping only: no channel, no decoder).

    python scripts/symbols_sent.py --faces ../shared/data/faces_deepface/identity_clusters.csv --policy faces \\
        --json eval/results/leakage/symbols_sent.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--faces", help="folder per identity or CSV of image,identity (as vlmsc eval)")
    src.add_argument("--image", action="append", help="repeatable photo path or skimage:NAME")
    ap.add_argument("--policy", default="faces")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--key",
        type=Path,
        default=None,
        help="shared key file (vlmsc key new); default: a fresh random key known to no one",
    )
    a = ap.parse_args(argv)

    import torch
    from rich.console import Console
    from rich.table import Table

    from vlm_privsc.config import load_preset
    from vlm_privsc.errors import VlmscError
    from vlm_privsc.evaluation import load_faces
    from vlm_privsc.io import atomic_write_json, load_image
    from vlm_privsc.keys import optional_key
    from vlm_privsc.pipeline import Pipeline, _resize_mask, working_size

    torch.set_num_threads(a.threads)
    console = Console()
    try:
        sources = [str(it.path) for it in load_faces(a.faces, a.limit)] if a.faces else a.image[: a.limit]
        pipe = Pipeline(load_preset(a.preset), key=optional_key(a.key)).load()
        rows: list[dict[str, Any]] = []
        for i, src_path in enumerate(sources):
            img = load_image(src_path).tensor
            g = pipe.protect(img, i, a.policy)
            h, w = working_size(img.shape[-2], img.shape[-1], pipe.config.jscc.max_side)
            mask = _resize_mask(g.mask, (h, w))
            codec = pipe.codec_for(h, w)
            k = codec.channel_uses(h, w)
            sent = int(codec.symbol_keep(mask).sum()) if bool(mask.any()) else k
            rows.append(
                {
                    "image": Path(src_path).name,
                    "private_fraction": round(float(mask.float().mean()), 5),
                    "symbols": k,
                    "symbols_sent": sent,
                    "share_sent": round(sent / k, 5),
                }
            )
    except VlmscError as e:
        console.print(f"[red]error:[/] {e}")
        return 2
    shares = [r["share_sent"] for r in rows]
    summary = {
        "photos": len(rows),
        "policy": a.policy,
        "preset": a.preset,
        "share_sent_mean": round(statistics.fmean(shares), 4),
        "share_sent_min": min(shares),
        "share_sent_max": max(shares),
        "private_fraction_mean": round(statistics.fmean(r["private_fraction"] for r in rows), 4),
        "command": "python scripts/symbols_sent.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    t = Table(title=f"image symbols sent, policy {a.policy}")
    for c in ("photos", "share_sent_mean", "share_sent_min", "share_sent_max", "private_fraction_mean"):
        t.add_column(c, justify="right")
    t.add_row(
        *(
            str(summary[c])
            for c in ("photos", "share_sent_mean", "share_sent_min", "share_sent_max", "private_fraction_mean")
        )
    )
    console.print(t)
    if a.json:
        atomic_write_json(a.json, {"summary": summary, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
