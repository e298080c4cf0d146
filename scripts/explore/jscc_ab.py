"""Short A/B training runs of JSCC variants (diagnosis of slow resjscc training; issue 13).

One process, one thread: trains a variant for ``--minutes`` on 64-128 px crops of BSDS500/train
+ the face sets (no CIFAR), SNR uniform 0-20 dB, and evaluates every ``--eval-every`` steps on 8
held-out BSDS500/test photos (center 320x480) at AWGN 10 dB with fixed noise. Writes one JSON
line per eval to ``--log``. Variants are architecture fields of :class:`JSCCConfig`.

    python scripts/jscc_ab.py --tag base --lr 1e-4 --minutes 6 --log eval/results/jscc/ab_log.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from vlm_privsc.channel.models import AWGNChannel
from vlm_privsc.jscc import data as jdata
from vlm_privsc.jscc.evaluate import evaluate, to_tensor
from vlm_privsc.jscc.models import DeepJSCC, default_config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tag", required=True)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--pixels", type=int, default=65536)
    ap.add_argument("--sizes", default="64,96,128")
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--cfg", default="{}", help="JSON of JSCCConfig fields for resjscc")
    ap.add_argument("--ratio-channels", type=int, default=256)
    ap.add_argument("--log", default="eval/results/jscc/ab_log.jsonl")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    d = jdata.resolve_data_dir(None)
    photos = jdata.load_real_photos(d, ("bsds500/train", "faces_deepface", "faces_orl"))
    test = []
    for f in sorted(jdata.list_images(d / "bsds500/test"))[:8]:
        im = jdata.load_rgb(f)
        if im.shape[0] > im.shape[1]:
            im = im.transpose(1, 0, 2)
        h, w = im.shape[:2]
        test.append(im[(h - 320) // 2 : (h - 320) // 2 + 320, (w - 480) // 2 : (w - 480) // 2 + 480])
    test = np.stack(test)
    sampler = jdata.CropSampler(photos, None, a.pixels, tuple(int(s) for s in a.sizes.split(",")), 0.0)
    cfg = default_config("resjscc", a.ratio_channels, **json.loads(a.cfg))
    model = DeepJSCC(cfg)
    n_par = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    ch = AWGNChannel()
    rng = np.random.default_rng(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    t0 = time.perf_counter()
    step, run = 0, None
    log = Path(a.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    while True:
        el = time.perf_counter() - t0
        if el > a.minutes * 60:
            break
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, (step + 1) / a.warmup)
        xb = to_tensor(sampler.sample(rng))
        snr = 20 * torch.rand(len(xb), generator=gen)
        model.train()
        y = model(xb, ch, snr, gen)
        loss = torch.nn.functional.mse_loss(y, xb)
        if not torch.isfinite(loss):
            print("non-finite loss at", step)
            continue
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip if a.clip > 0 else 1e9))
        opt.step()
        step += 1
        run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
        if step % a.eval_every == 0:
            q = {s: round(evaluate(model, test, ch, s, seed=7, with_ssim=False).psnr_db, 2) for s in (0.0, 10.0, 20.0)}
            rec = {
                "tag": a.tag,
                "step": step,
                "s": round(time.perf_counter() - t0),
                "train_db": round(-10 * math.log10(run), 2),
                "bsds_test_0_10_20": list(q.values()),
                "grad_norm": round(gn, 4),
                "lr": a.lr,
                "cfg": a.cfg,
                "params": n_par,
            }
            print(json.dumps(rec), flush=True)
            with log.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
