"""The generative receiver on real photos: naturalness, privacy, the text's gain, seams.

For each photo and each SNR (Bob and Eve at the same SNR), one pipeline run with the
preset (default: the offline generative receivers), then the same decoded images restored
by the same receiver under other conditions:

- ``bob``: what Bob restores (recovered category + prompt + region attributes);
- ``bob_noattr``: the same without the attributes (what the attributes add);
- ``bob_notext``: the same receiver without the text (no category recovered: generic
  push-pull fill), i.e. the paper's "without the text embedding";
- ``eve``: Eve's restoration (her own category guess, no attributes);
- ``unguarded``: Eve's reconstruction of the photo sent without any guard (the leakage
  reference; reduction = 1 - leak(eve) / leak(unguarded)).

Metric named before measuring for the paper's "reconstruction quality" of a removed region:
**semantic fidelity**, the share of removed faces in which an independent face detector
(dlib HOG; YuNet also reported, the guard uses YuNet + MTCNN, the generator uses neither)
finds a face again. PSNR/SSIM inside the mask are reported too, but they reward the
mean-seeking blur of an unknown face over any sharp new face, so they cannot stand for it.

    python scripts/eval_generation.py --faces ../shared/data/faces_deepface --snrs 0 5 10 \\
        --out eval/results/generation/faces_deepface
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch


def _photos(root: Path, limit: int | None) -> list[tuple[Path, str]]:
    """``(path, identity)``: the photos of ``identity_clusters.csv`` (or ``<id>/<img>`` folders)
    plus every other image in the folder (group photos, plates, pages: identity ``""``)."""
    from vlm_privsc.evaluation.dataset import IMAGE_EXTS, load_faces

    csv_path = root / "identity_clusters.csv"
    has_ids = csv_path.exists() or any(p.is_dir() for p in root.iterdir())
    out = [(it.path, it.identity) for it in load_faces(csv_path if csv_path.exists() else root)] if has_ids else []
    known = {p.resolve() for p, _ in out}
    out += [(p, "") for p in sorted(root.iterdir()) if p.suffix.lower() in IMAGE_EXTS and p.resolve() not in known]
    return out[:limit] if limit else out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--faces",
        type=Path,
        default=Path("../shared/data/faces_deepface"),
        help="a folder of photos (identity_clusters.csv or <identity>/<img> folders give identities)",
    )
    ap.add_argument("--preset", default="default")
    ap.add_argument("--policy", default="faces")
    ap.add_argument("--snrs", type=float, nargs="+", default=[0.0, 5.0, 10.0])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--others", type=int, default=5, help="other identities per photo for the false-match floor")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--attribute-ablation",
        action="store_true",
        help="also restore with each attribute alone and with all but it (variants bob_only_<name>, "
        "bob_without_<name>): what each one gives and what dropping it would cost",
    )
    ap.add_argument("--table-only", action="store_true", help="only (re)write results.md from OUT/summary.json")
    ap.add_argument(
        "--key",
        type=Path,
        default=None,
        help="shared key file (vlmsc key new); default: a fresh random key known to no one",
    )
    a = ap.parse_args(argv)
    if a.table_only:
        summary = json.loads((a.out / "summary.json").read_text())
        (a.out / "results.md").write_text(markdown(summary))
        return 0
    torch.set_num_threads(a.threads)

    from vlm_privsc.config import load_preset
    from vlm_privsc.io.images import load_image, to_uint8
    from vlm_privsc.keys import optional_key
    from vlm_privsc.measure import psnr, ssim
    from vlm_privsc.measure.generation import bootstrap_ci, box_centred_in, hog_faces, region_quality, seam_ratio
    from vlm_privsc.pipeline import Pipeline, _resize

    photos = _photos(a.faces, a.limit)
    pipe = Pipeline(load_preset(a.preset), key=optional_key(a.key)).load()
    matcher = pipe.matcher
    rng = np.random.default_rng(a.seed)
    emb_cache: dict[Path, np.ndarray | None] = {}

    def other_embeddings(identity: str) -> list[np.ndarray]:
        """Largest-face embeddings of up to ``--others`` photos of other identities (seeded)."""
        pool = [p for p, i in photos if i and i != identity]
        pick = [pool[j] for j in rng.permutation(len(pool))[: a.others]] if pool else []
        out: list[np.ndarray] = []
        for p in pick:
            if p not in emb_cache:
                from vlm_privsc.pipeline import working_size

                img = load_image(p).tensor
                emb_cache[p] = matcher.embed_largest(
                    to_uint8(_resize(img, working_size(int(img.shape[-2]), int(img.shape[-1]), 512)))
                )
            e = emb_cache[p]
            if e is not None:
                out.append(e)
        return out

    rows: list[dict[str, Any]] = []
    t0 = time.time()
    for k, (path, identity) in enumerate(photos):
        image = load_image(path).tensor
        g = pipe.protect(image, seed=a.seed, policy=a.policy)
        others = other_embeddings(identity) if identity else []
        for snr in a.snrs:
            r = pipe.run(image, str(path), a.seed, policy=a.policy, snr_db=snr, eve_snr_db=snr, guard_result=g)
            faces_idx = [i for i, reg in enumerate(r.guard.regions) if reg.category == "face"]
            n = len(r.transmission.region_masks)

            def bob_with(semantics: Any, attributes: Any, r: Any = r) -> torch.Tensor:
                """Bob's decoded photo restored under another condition, with the run's seed."""
                gen = torch.Generator().manual_seed(a.seed * 1000 + 3)
                restored, _ = pipe.restore(
                    r.bob.decoded,
                    r.mask,
                    list(r.transmission.region_masks),
                    semantics,
                    pipe.bob_inpainter,
                    gen,
                    attributes,
                )
                return restored

            noattr = bob_with(r.bob.semantics, tuple({} for _ in range(n)))
            notext = bob_with((), None)
            u = pipe.run(image, str(path), a.seed, policy="none", snr_db=snr, eve_snr_db=snr, identity=False)
            imgs = {
                "bob": r.bob.restored,
                "bob_noattr": noattr,
                "bob_notext": notext,
                "eve": r.eve.restored,
                "unguarded": u.eve.decoded,
            }
            for name in pipe.config.semantic.attributes if a.attribute_ablation else ():
                # one attribute alone, then all but that one (what dropping it would cost)
                alone = tuple({name: at[name]} if name in at else {} for at in r.transmission.attributes)
                without = tuple({k: v for k, v in at.items() if k != name} for at in r.transmission.attributes)
                imgs[f"bob_only_{name}"] = bob_with(r.bob.semantics, alone)
                imgs[f"bob_without_{name}"] = bob_with(r.bob.semantics, without)
            orig = r.original
            o8 = to_uint8(orig)
            ofaces = matcher.faces(o8)
            comps = matcher.compare_many(o8, [to_uint8(im) for im in imgs.values()], ofaces)
            hog_orig = hog_faces(orig)
            yunet_orig = [f.box for f in ofaces]
            for v, cmp in zip(imgs, comps):
                im = imgs[v]
                yun = [f.box for f in matcher.faces(to_uint8(im))]
                hog = hog_faces(im)
                row: dict[str, Any] = {
                    "photo": path.name,
                    "identity": identity,
                    "snr_db": snr,
                    "variant": v,
                    "n_regions": n,
                    "n_faces_removed": len(faces_idx),
                    "identity_similarity": cmp.similarity,
                    "identity_match": cmp.same_identity,
                    "psnr": psnr(orig, im),
                    "ssim": ssim(orig, im),
                    "generators": "|".join({"bob": r.bob.generators, "eve": r.eve.generators}.get(v, ())),
                }
                # per removed face: naturalness (HOG / YuNet centred inside); per removed
                # region of any category: quality inside and seam
                nat_h = [box_centred_in(hog, r.transmission.region_masks[i]) for i in faces_idx]
                nat_y = [box_centred_in(yun, r.transmission.region_masks[i]) for i in faces_idx]
                ref_h = [box_centred_in(hog_orig, r.transmission.region_masks[i]) for i in faces_idx]
                ref_y = [box_centred_in(yunet_orig, r.transmission.region_masks[i]) for i in faces_idx]
                qs = [region_quality(orig, im, rm) for rm in r.transmission.region_masks]
                row.update(
                    {
                        "faces_found_hog": sum(nat_h),
                        "faces_found_yunet": sum(nat_y),
                        "faces_found_hog_original": sum(ref_h),
                        "faces_found_yunet_original": sum(ref_y),
                        "psnr_mask": _mean([q.psnr_mask for q in qs]),
                        "ssim_mask_box": _mean([q.ssim_box for q in qs]),
                        "seam_ratio": _mean([seam_ratio(im, rm) for rm in r.transmission.region_masks]),
                    }
                )
                if others and cmp.per_face:
                    sims = [matcher.similarity(matcher.embed(to_uint8(im), f), e) for f in ofaces for e in others]
                    row["false_match_others"] = float(np.mean([matcher.is_same(s) for s in sims]))
                rows.append(row)
        el = time.time() - t0
        print(f"[{k + 1}/{len(photos)}] {path.name}: {el:.0f} s", flush=True)

    a.out.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    with (a.out / "rows.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    summary = _summarise(rows, a.snrs, bootstrap_ci)
    summary["command"] = "python " + " ".join(shlex.quote(x) for x in [sys.argv[0], *(argv or sys.argv[1:])])
    summary["photos"] = len(photos)
    summary["seconds"] = round(time.time() - t0, 1)
    summary["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {a.threads} thread(s)"
    )
    summary["identity_threshold"] = float(matcher.threshold)
    (a.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (a.out / "results.md").write_text(markdown(summary))
    print(json.dumps(summary["by_snr"], indent=1))
    return 0


def _mean(v: list[float]) -> float:
    f = [x for x in v if x is not None and math.isfinite(x)]
    return float(np.mean(f)) if f else float("nan")


def _summarise(rows: list[dict[str, Any]], snrs: list[float], ci) -> dict[str, Any]:
    """Per SNR and variant: rates and means with 95% bootstrap intervals over photos."""
    out: dict[str, Any] = {"by_snr": {}}
    for snr in snrs:
        per: dict[str, Any] = {}
        variants = list(dict.fromkeys(str(r["variant"]) for r in rows))
        for v in variants:
            rs = [r for r in rows if r["snr_db"] == snr and r["variant"] == v]
            faces = sum(int(r["n_faces_removed"]) for r in rs)
            withface = [r for r in rs if int(r["n_faces_removed"]) > 0]
            withregion = [r for r in rs if int(r["n_regions"]) > 0]

            def rate(key: str, rs: list = withface) -> list[float]:
                return [int(r[key]) / int(r["n_faces_removed"]) for r in rs]

            matched = [float(bool(r["identity_match"])) for r in rs if r["identity_match"] not in (None, "")]
            per[v] = {
                "photos": len(rs),
                "faces_removed": faces,
                "naturalness_hog": ci(rate("faces_found_hog")),
                "naturalness_yunet": ci(rate("faces_found_yunet")),
                "detector_ceiling_hog_original": ci(rate("faces_found_hog_original")),
                "detector_ceiling_yunet_original": ci(rate("faces_found_yunet_original")),
                "identity_match_rate": ci(matched),
                "identity_similarity": ci(
                    [float(r["identity_similarity"]) for r in rs if r["identity_similarity"] is not None]
                ),
                "false_match_others": ci([float(r["false_match_others"]) for r in rs if "false_match_others" in r]),
                "psnr": ci([float(r["psnr"]) for r in rs]),
                "ssim": ci([float(r["ssim"]) for r in rs]),
                "regions_removed": sum(int(r["n_regions"]) for r in rs),
                "psnr_mask": ci([float(r["psnr_mask"]) for r in withregion]),
                "ssim_mask_box": ci([float(r["ssim_mask_box"]) for r in withregion]),
                "seam_ratio": ci([float(r["seam_ratio"]) for r in withregion]),
            }
        eve, ung = per["eve"]["identity_match_rate"][0], per["unguarded"]["identity_match_rate"][0]
        per["leakage_reduction"] = (1 - eve / ung) if ung and ung == ung else None
        out["by_snr"][str(snr)] = per
    return out


COLUMNS = (
    ("naturalness_hog", "faces found (HOG)", 2),
    ("naturalness_yunet", "faces found (YuNet)", 2),
    ("identity_match_rate", "identity match", 3),
    ("identity_similarity", "identity sim", 3),
    ("false_match_others", "false match, others", 3),
    ("psnr", "PSNR", 2),
    ("psnr_mask", "PSNR in mask", 2),
    ("ssim_mask_box", "SSIM mask box", 3),
    ("seam_ratio", "seam ratio", 2),
)


def markdown(summary: dict) -> str:
    """Tables of ``summary.json``: per SNR, each variant's mean [95% bootstrap interval], and
    the text's gain (``bob`` over ``bob_notext``) in percent of the no-text value."""
    lines = [f"# {summary.get('photos', '?')} photos; `{summary.get('command', '')}`", ""]
    for snr, per in summary["by_snr"].items():
        lines += [
            f"## SNR {snr} dB (leakage reduction {_fmt(per.get('leakage_reduction'), 3)})",
            "",
            "| variant | " + " | ".join(c[1] for c in COLUMNS) + " |",
            "|---|" + "---|" * len(COLUMNS),
        ]
        for v, d in per.items():
            if not isinstance(d, dict):
                continue
            cells = [f"{_fmt(d[k][0], n)} [{_fmt(d[k][1], n)}, {_fmt(d[k][2], n)}]" for k, _, n in COLUMNS]
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        gains = []
        for k, label, _ in COLUMNS:
            if k in ("psnr", "psnr_mask", "ssim_mask_box", "naturalness_hog", "naturalness_yunet"):
                b, n = per["bob"][k][0], per["bob_notext"][k][0]
                gains.append(f"{label} {_fmt(100 * (b - n) / abs(n), 1) if n else ('+inf' if b else '0')}%")
        lines += ["", "text gain (bob vs bob_notext): " + ", ".join(gains), ""]
    return "\n".join(lines) + "\n"


def _fmt(v: Any, n: int) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{float(v):.{n}f}"


if __name__ == "__main__":
    raise SystemExit(main())
