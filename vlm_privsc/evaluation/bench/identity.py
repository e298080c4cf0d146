"""Benchmark the identity matchers: face verification accuracy, leak controls and speed.

Verification (two different photos; largest face of each, each image aligned on its own
landmarks):
  * faces_deepface: the pairs of ``master.csv`` (``file_x,file_y,Decision`` Yes/No; 25 images).
  * faces_deepface_clusters: every pair of the 61 photos in ``identity_clusters.csv`` (13 people).
  * faces_orl: every same-subject pair plus as many seeded different-subject pairs
    (92x112 grey images, replicated to RGB and upscaled ``--orl-upscale`` times, bicubic,
    so dlib's HOG detector, whose smallest face is ~80 px, sees the faces).
  Reported: ROC AUC (all pairs, and "AUC found": pairs whose two faces were both
  detected, which separates the recogniser from its detector), best-threshold accuracy (threshold tuned on the same pairs, so
  optimistic), accuracy / TPR / FAR at the backend's documented threshold, and the
  images where no face was found (their pairs score -1, i.e. "different").

Leak controls (the way the pipeline uses a matcher: ``compare(original, candidate)`` with a
pixel-aligned candidate): per original, the share judged "same identity" for candidates
that keep the identity (JPEG q30, Gaussian noise sigma 10) and for candidates that do not
(face box blurred with sigma = face width / 4, face box filled with the image mean,
uniform grey image). A good leakage meter says "same" for the first and "different" for
the second.

Speed: median detection time per image and embedding time per face (this machine).

    python scripts/bench_identity.py --json eval/results/identity/results.json
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlm_privsc.identity import MATCHERS, IdentityMatcher, available_matchers, build_matcher
from vlm_privsc.identity.base import l2_normalise

DLIB_RAW = "dlib (raw distance <= 0.6)"


# ----------------------------------------------------------------------------- data
@dataclass
class PairSet:
    """Images (RGB uint8) and labelled pairs of indices into them."""

    name: str
    files: list[str]
    images: list[np.ndarray]
    pairs: list[tuple[int, int, bool]]
    note: str = ""


def _load_rgb(path: Path, upscale: int = 1) -> np.ndarray:
    import cv2
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), dtype=np.uint8)
    if upscale != 1:
        rgb = np.asarray(cv2.resize(rgb, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC), np.uint8)
    return np.ascontiguousarray(rgb)


def load_deepface(root: Path, limit: int | None) -> PairSet:
    rows: list[tuple[str, str, bool]] = []
    with open(root / "master.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            rows.append((r["file_x"], r["file_y"], r["Decision"].strip().lower() == "yes"))
    if limit is not None:
        # keep the Yes/No mix: the first `limit` pairs of each kind
        rows = [r for r in rows if r[2]][:limit] + [r for r in rows if not r[2]][:limit]
    files = sorted({f for a, b, _ in rows for f in (a, b)})
    index = {f: i for i, f in enumerate(files)}
    images = [_load_rgb(root / f) for f in files]
    pairs = [(index[a], index[b], same) for a, b, same in rows]
    return PairSet("faces_deepface", files, images, pairs, note="pairs from master.csv")


def load_deepface_clusters(root: Path, limit: int | None) -> PairSet:
    rows: list[tuple[str, int]] = []
    with open(root / "identity_clusters.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            rows.append((r["file"].strip(), int(r["cluster_id"])))
    rows.sort()
    if limit is not None:
        rows = rows[:limit]
    files = [f for f, _ in rows]
    images = [_load_rgb(root / f) for f in files]
    pairs = [(i, j, rows[i][1] == rows[j][1]) for i in range(len(rows)) for j in range(i + 1, len(rows))]
    n_id = len({c for _, c in rows})
    return PairSet(
        "faces_deepface_clusters", files, images, pairs, note=f"all pairs of identity_clusters.csv ({n_id} people)"
    )


def load_orl(root: Path, upscale: int, seed: int, subjects: int | None) -> PairSet:
    dirs = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("s")), key=lambda p: int(p.name[1:]))
    if subjects is not None:
        dirs = dirs[:subjects]
    files: list[str] = []
    labels: list[int] = []
    for d in dirs:
        for f in sorted(d.glob("*.pgm"), key=lambda p: int(p.stem)):
            files.append(f"{d.name}/{f.name}")
            labels.append(int(d.name[1:]))
    images = [_load_rgb(root / f, upscale) for f in files]
    lab = np.asarray(labels)
    same = [(i, j, True) for i in range(len(files)) for j in range(i + 1, len(files)) if lab[i] == lab[j]]
    rng = np.random.default_rng(seed)
    diff: set[tuple[int, int]] = set()
    while len(diff) < len(same):
        i, j = (int(v) for v in rng.integers(0, len(files), size=2))
        if lab[i] != lab[j]:
            diff.add((min(i, j), max(i, j)))
    pairs = same + [(i, j, False) for i, j in sorted(diff)]
    note = (
        f"{len(dirs)} subjects; all {len(same)} same-subject pairs + {len(diff)} different-subject pairs "
        f"drawn with numpy default_rng({seed}); 92x112 grey -> RGB, upscaled x{upscale} (cv2.INTER_CUBIC)"
    )
    return PairSet("faces_orl", files, images, pairs, note=note)


# ----------------------------------------------------------------------------- metrics
def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (scikit-learn; NaN when one class is missing)."""
    from sklearn.metrics import roc_auc_score

    pos = labels.astype(bool)
    if pos.all() or not pos.any():
        return float("nan")
    return float(roc_auc_score(pos, scores))


def best_threshold_accuracy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) maximising accuracy of ``score >= t`` over all cut points."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(bool)
    n = len(s)
    # predicting "same" for the top k: correct = TP(k) + TN(k)
    tp = np.concatenate([[0], np.cumsum(y)])
    fp = np.concatenate([[0], np.cumsum(~y)])
    correct = tp + (int((~y).sum()) - fp)
    # only cut between distinct scores
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s[:-1] != s[1:]
    k = int(np.argmax(np.where(valid, correct, -1)))
    thr = float(s[k - 1]) if k > 0 else float(s[0]) + 1e-6
    return float(correct[k] / n), thr


def at_threshold(scores: np.ndarray, labels: np.ndarray, thr: float) -> dict[str, float]:
    pred = scores >= thr
    y = labels.astype(bool)
    return {
        "accuracy": float((pred == y).mean()),
        "tpr": float(pred[y].mean()) if y.any() else float("nan"),
        "far": float(pred[~y].mean()) if (~y).any() else float("nan"),
    }


def verification_metrics(
    scores: np.ndarray, labels: np.ndarray, thr: float, detected: np.ndarray | None = None
) -> dict[str, Any]:
    """Metrics over all pairs (missed faces score lowest) and AUC over pairs with both faces found."""
    acc, best_t = best_threshold_accuracy(scores, labels)
    out: dict[str, Any] = {
        "n_pairs": int(len(scores)),
        "n_same": int(labels.sum()),
        "n_different": int((~labels.astype(bool)).sum()),
        "auc": roc_auc(scores, labels),
        "best_accuracy": acc,
        "best_threshold": best_t,
        "threshold": thr,
    }
    out.update({f"{k}_at_threshold": v for k, v in at_threshold(scores, labels, thr).items()})
    if detected is not None:
        out["n_pairs_both_detected"] = int(detected.sum())
        out["auc_both_detected"] = roc_auc(scores[detected], labels[detected])
    return out


# ----------------------------------------------------------------------------- runs
@dataclass
class Embedded:
    embeddings: list[np.ndarray | None]
    raw: list[np.ndarray | None] = field(default_factory=list)
    detect_s: list[float] = field(default_factory=list)
    embed_s: list[float] = field(default_factory=list)


def embed_all(
    m: IdentityMatcher, images: list[np.ndarray], keys: list[str] | None = None, cache: dict | None = None
) -> Embedded:
    """Largest-face embedding of each image; ``cache`` (key -> (emb, raw)) skips repeats."""
    out = Embedded(embeddings=[])
    m.embed_largest(images[0])  # warm-up: first forward passes allocate
    for k, img in enumerate(images):
        key = keys[k] if keys is not None else None
        if cache is not None and key in cache:
            emb_c, raw_c = cache[key]
            out.embeddings.append(emb_c)
            out.raw.append(raw_c)
            continue
        t0 = time.perf_counter()
        faces = m.faces(img)
        t1 = time.perf_counter()
        out.detect_s.append(t1 - t0)
        if not faces:
            out.embeddings.append(None)
            out.raw.append(None)
            if cache is not None and key is not None:
                cache[key] = (None, None)
            continue
        if hasattr(m, "descriptor"):
            raw = m.descriptor(img, faces[0])
            emb = l2_normalise(raw)
        else:
            raw, emb = None, m.embed(img, faces[0])
        out.embed_s.append(time.perf_counter() - t1)
        out.embeddings.append(emb)
        out.raw.append(raw)
        if cache is not None and key is not None:
            cache[key] = (emb, raw)
    return out


def pair_scores(e: Embedded, pairs: list[tuple[int, int, bool]], raw_distance: bool = False) -> np.ndarray:
    vals = []
    for i, j, _ in pairs:
        a, b = (e.raw[i], e.raw[j]) if raw_distance else (e.embeddings[i], e.embeddings[j])
        if a is None or b is None:
            vals.append(-np.inf if raw_distance else -1.0)  # a failed detection reads "different"
        elif raw_distance:
            vals.append(-float(np.linalg.norm(a - b)))  # negated: higher = more alike
        else:
            vals.append(float(np.dot(a, b)))
    return np.asarray(vals, dtype=np.float64)


def _jpeg(x: np.ndarray, q: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(x).save(buf, "JPEG", quality=q)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def leak_candidates(img: np.ndarray, box: tuple[float, ...], seed: int) -> dict[str, tuple[np.ndarray, bool]]:
    """Pixel-aligned candidates and whether each should count as carrying the identity."""
    import cv2

    h, w = img.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    rng = np.random.default_rng(seed)
    noisy = np.clip(img.astype(np.float32) + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    blurred = img.copy()
    sigma = max(1.0, (x1 - x0) / 4.0)
    pad = int(3 * sigma)
    bx0, by0, bx1, by1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    region = cv2.GaussianBlur(img[by0:by1, bx0:bx1], (0, 0), sigma)
    blurred[y0:y1, x0:x1] = region[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]
    masked = img.copy()
    masked[y0:y1, x0:x1] = img.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    grey = np.full_like(img, 128)
    return {
        "jpeg_q30": (_jpeg(img, 30), True),
        "noise_s10": (noisy, True),
        "face_blur_w/4": (blurred, False),
        "face_masked": (masked, False),
        "grey": (grey, False),
    }


def leak_controls(m: IdentityMatcher, images: list[np.ndarray], seed: int) -> dict[str, Any]:
    res: dict[str, dict[str, list[float]]] = {}
    n_used = 0
    for k, img in enumerate(images):
        faces = m.faces(img)
        if not faces:
            continue
        n_used += 1
        cands = leak_candidates(img, faces[0].box, seed + k)
        for name, r in zip(cands, m.compare_many(img, [c for c, _ in cands.values()], original_faces=faces)):
            d = res.setdefault(name, {"sim": [], "same": [], "found": []})
            d["sim"].append(float(r.per_face[0].similarity))
            d["same"].append(float(r.per_face[0].same_identity))
            d["found"].append(float(r.per_face[0].face_found_in_candidate))
    positives = {"jpeg_q30", "noise_s10"}
    out: dict[str, Any] = {"n_originals": n_used}
    for name, d in res.items():
        out[name] = {
            "keeps_identity": name in positives,
            "mean_similarity": float(np.mean(d["sim"])),
            "min_similarity": float(np.min(d["sim"])),
            "max_similarity": float(np.max(d["sim"])),
            "share_same_identity": float(np.mean(d["same"])),
            "share_face_detected": float(np.mean(d["found"])),
        }
    return out


# ----------------------------------------------------------------------------- main
def _default_data() -> Path:
    return Path("../shared/data").resolve()  # beside the checkout, run from its root


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    return f"{100 * v:.1f}%" if pct else f"{v:.3f}"


def print_tables(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=160)
    for ds, per in results["verification"].items():
        t = Table(title=f"verification: {ds} ({results['datasets'][ds]['note']})")
        for c in (
            "backend",
            "pairs",
            "no face",
            "AUC",
            "AUC found",
            "best acc",
            "best thr",
            "thr",
            "acc@thr",
            "TPR@thr",
            "FAR@thr",
        ):
            t.add_column(c, justify="right")
        for b, r in per.items():
            t.add_row(
                b,
                str(r["n_pairs"]),
                str(r["images_without_face"]),
                _fmt(r["auc"]),
                _fmt(r.get("auc_both_detected")),
                _fmt(r["best_accuracy"], True),
                _fmt(r["best_threshold"]),
                _fmt(r["threshold"]),
                _fmt(r["accuracy_at_threshold"], True),
                _fmt(r["tpr_at_threshold"], True),
                _fmt(r["far_at_threshold"], True),
            )
        con.print(t)
    for ds, per in results["leak_controls"].items():
        t = Table(title=f"leak controls (compare(original, candidate)): {ds}")
        for c in (
            "backend",
            "originals",
            "candidate",
            "should match",
            "mean sim",
            "min",
            "max",
            "judged same",
            "face detected",
        ):
            t.add_column(c, justify="right")
        for b, r in per.items():
            for name, v in r.items():
                if not isinstance(v, dict):
                    continue
                t.add_row(
                    b,
                    str(r["n_originals"]),
                    name,
                    "yes" if v["keeps_identity"] else "no",
                    _fmt(v["mean_similarity"]),
                    _fmt(v["min_similarity"]),
                    _fmt(v["max_similarity"]),
                    _fmt(v["share_same_identity"], True),
                    _fmt(v["share_face_detected"], True),
                )
        con.print(t)
    t = Table(title="speed (median, this machine, 2 threads, shared CPU)")
    for c in ("backend", "dataset", "detect ms/image", "embed ms/face"):
        t.add_column(c, justify="right")
    for b, per in results["timing"].items():
        for ds, v in per.items():
            t.add_row(b, ds, f"{1000 * v['detect_s_per_image']:.1f}", f"{1000 * v['embed_s_per_face']:.1f}")
    con.print(t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="folder with faces_deepface/ and faces_orl/")
    ap.add_argument("--json", type=Path, default=None, help="write results here")
    ap.add_argument("--quick", action="store_true", help="small subset (smoke test)")
    ap.add_argument("--backends", default=None, help="comma-separated (default: every available backend)")
    ap.add_argument("--facenet-weights", default=None, help="InceptionResnetV1 state dict for the facenet backend")
    ap.add_argument("--orl-upscale", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch/OpenCV threads")
    args = ap.parse_args(argv)

    import cv2

    cv2.setNumThreads(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:  # pragma: no cover
        pass

    avail = available_matchers()
    if args.backends:
        names = [n.strip() for n in args.backends.split(",") if n.strip()]
        for n in names:
            MATCHERS.get(n)  # unknown names raise with the valid list
    else:
        names = [n for n in MATCHERS.names() if not avail[n] or (n == "facenet" and args.facenet_weights)]
    skipped = {n: avail[n] for n in MATCHERS.names() if n not in names}

    deepface_dir, orl_dir = args.data / "faces_deepface", args.data / "faces_orl"
    sets: list[PairSet] = []
    if (deepface_dir / "master.csv").is_file():
        sets.append(load_deepface(deepface_dir, 12 if args.quick else None))
    if (deepface_dir / "identity_clusters.csv").is_file():
        sets.append(load_deepface_clusters(deepface_dir, 12 if args.quick else None))
    if orl_dir.is_dir():
        sets.append(load_orl(orl_dir, args.orl_upscale, args.seed, 4 if args.quick else None))
    if not sets:
        print(f"no faces_deepface/master.csv or faces_orl/ under {args.data}", file=sys.stderr)
        return 2

    results: dict[str, Any] = {
        "command": "python scripts/bench_identity.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "environment": {
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "cpu_threads": args.threads,
        },
        "datasets": {s.name: {"n_images": len(s.images), "n_pairs": len(s.pairs), "note": s.note} for s in sets},
        "skipped_backends": skipped,
        "verification": {},
        "leak_controls": {},
        "timing": {},
    }
    try:
        import dlib

        results["environment"]["dlib"] = dlib.__version__
    except ImportError:  # pragma: no cover
        pass

    for name in names:
        kw = {"weights": args.facenet_weights} if name == "facenet" and args.facenet_weights else {}
        m = build_matcher(name, **kw)
        deepface_cache: dict[str, Any] = {}
        deepface_controlled: set[str] = set()
        leak_acc: dict[str, list] = {}
        for s in sets:
            print(f"[{name}] {s.name}: {len(s.images)} images, {len(s.pairs)} pairs", file=sys.stderr, flush=True)
            is_df = s.name.startswith("faces_deepface")
            e = embed_all(m, s.images, s.files if is_df else None, deepface_cache if is_df else None)
            labels = np.asarray([p[2] for p in s.pairs], dtype=bool)
            no_face = [s.files[i] for i, v in enumerate(e.embeddings) if v is None]
            both = np.asarray([e.embeddings[i] is not None and e.embeddings[j] is not None for i, j, _ in s.pairs])
            r = verification_metrics(pair_scores(e, s.pairs), labels, m.threshold, both)
            r["images_without_face"] = len(no_face)
            r["files_without_face"] = no_face
            results["verification"].setdefault(s.name, {})[name] = r
            if name == "dlib":
                rr = verification_metrics(pair_scores(e, s.pairs, raw_distance=True), labels, -0.6, both)
                rr["best_threshold"] = -rr["best_threshold"]  # back to a distance
                rr["threshold"] = 0.6
                rr["images_without_face"] = len(no_face)
                rr["files_without_face"] = no_face
                results["verification"][s.name][DLIB_RAW] = rr
            if e.detect_s:
                results["timing"].setdefault(name, {})[s.name] = {
                    "detect_s_per_image": float(np.median(e.detect_s)),
                    "embed_s_per_face": float(np.median(e.embed_s)) if e.embed_s else float("nan"),
                    "n_images_timed": len(e.detect_s),
                }
            # leak controls: every deepface image once (both pair lists); one image per ORL subject
            if is_df:
                idx = [i for i, f in enumerate(s.files) if f not in deepface_controlled]
                deepface_controlled.update(s.files)
                ctrl_name = "faces_deepface"
            else:
                first: dict[str, int] = {}
                for i, f in enumerate(s.files):
                    first.setdefault(f.split("/")[0], i)
                idx = sorted(first.values())
                ctrl_name = s.name
            if args.quick:
                idx = idx[:3]
            leak_acc.setdefault(ctrl_name, []).extend(s.images[i] for i in idx)
        for ctrl_name, ctrl in leak_acc.items():
            print(f"[{name}] {ctrl_name}: leak controls on {len(ctrl)} originals", file=sys.stderr, flush=True)
            results["leak_controls"].setdefault(ctrl_name, {})[name] = leak_controls(m, ctrl, args.seed)

    print_tables(results)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # python scripts/bench_identity.py
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
