"""Regions the guard finds under ``policy all`` on the photos that ship with installed packages
(issue 17's complaints): scikit-image's chelsea (a cat) and astronaut, matplotlib's
grace_hopper.jpg, scikit-learn's china.jpg (a temple). Prints regions per category, the private
share of the photo and the guard's seconds (the first photo includes loading the models).

    python scripts/guard_packaged_photos.py
"""

from __future__ import annotations

import os
import sys
from collections import Counter


def photos() -> list[str]:
    out = ["skimage:chelsea"]
    try:
        import matplotlib

        out.append(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))
    except ImportError:
        pass
    try:
        import sklearn

        out.append(os.path.join(os.path.dirname(sklearn.__file__), "datasets", "images", "china.jpg"))
    except ImportError:
        pass
    return out + ["skimage:astronaut"]


def main(argv: list[str] | None = None) -> int:
    import torch

    from vlm_privsc.db import load_db
    from vlm_privsc.guard import PrivacyGuard
    from vlm_privsc.io import load_image

    torch.set_num_threads(1)
    guard = PrivacyGuard(load_db(), "all").load()
    for src in photos():
        if not src.startswith("skimage:") and not os.path.isfile(src):
            continue
        res = guard.run(load_image(src).tensor, torch.Generator().manual_seed(0))
        print(
            f"{os.path.basename(src)}: {len(res.regions)} regions {dict(Counter(r.category for r in res.regions))}, "
            f"private {res.private_fraction:.4f}, {res.timings['guard_total']:.2f} s, gated {res.gated}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
