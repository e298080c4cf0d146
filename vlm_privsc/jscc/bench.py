"""``vlmsc bench jscc``: DeepJSCC PSNR/SSIM per SNR beside the separation reference.

For each dataset x model (bandwidth ratio) x channel x SNR, one result row::

    {"dataset", "channel", "snr_db", "ratio", "model", "n_images", "psnr_db", "ssim",
     "sep_psnr_db", "sep_ssim", "sep_fit_fraction", "sep_codecs", "sep_budget_bits_mean", "gain_db"}

``sep_*`` is the original separation reference, the better of JPEG and WebP at capacity,
kept so that old numbers stay comparable; ``best_sep_*`` (and ``best_gain_db``) the
strongest one, the best of ``sep_codecs`` (JPEG, WebP, JPEG 2000, AVIF, HEIC; see
:mod:`vlm_privsc.jscc.separation`): an upper bound no practical system reaches.
``*_psnr_db`` is None where no image fits. Throughput rows give encode+decode
images/s on the CPU at 32x32 (batch 64) and 512x512 (batch 1).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlm_privsc.channel.base import parse_ratio
from vlm_privsc.channel.models import build_channel
from vlm_privsc.errors import InputError
from vlm_privsc.jscc import data as jdata
from vlm_privsc.jscc import separation as sep
from vlm_privsc.jscc.evaluate import evaluate, throughput
from vlm_privsc.jscc.models import DeepJSCC
from vlm_privsc.jscc.weights import DEFAULT_MODEL, load_model, load_pretrained


@dataclass(frozen=True)
class BenchOptions:
    images: str | None = None
    data: str | None = None
    snrs: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    channels: tuple[str, ...] = ("awgn",)
    mode: str = "block"
    equalizer: str = "zf"
    ratios: tuple[str, ...] = ()
    model: str | None = None
    limit: int | None = None
    separation: bool = True
    throughput: bool = True
    seed: int = 0
    json_path: str | None = None
    markdown_path: str | None = None
    plots_dir: str | None = None
    threads: int = 2
    sep_codecs: tuple[str, ...] = sep.STRONG_CODECS  # the strongest reference ("best_sep_*")
    sep_cache: str | None = None  # folder caching coded sizes / PSNR across runs (None: off)


def _ratio_name(ratio: str) -> str:
    from vlm_privsc.jscc.weights import default_for_ratio

    return default_for_ratio(ratio)


def resolve_models(opts: BenchOptions) -> list[tuple[str, DeepJSCC]]:
    """The models to benchmark: ``--model`` (name or path), else one per ``--ratio``, else the default."""
    if opts.model:
        p = Path(opts.model)
        if p.suffix == ".safetensors" or p.exists():
            return [(p.stem.removeprefix("jscc_"), load_model(p))]
        return [(opts.model, load_pretrained(opts.model))]
    names = [_ratio_name(r) for r in opts.ratios] or [DEFAULT_MODEL]
    return [(n, load_pretrained(n)) for n in names]


def load_datasets(opts: BenchOptions) -> list[tuple[str, list[np.ndarray] | np.ndarray]]:
    """``--images DIR`` (any sizes) and/or ``--data DIR`` (lossless CIFAR-10 test + Kodak)."""
    out: list[tuple[str, list[np.ndarray] | np.ndarray]] = []
    lim = opts.limit
    if opts.images:
        files = jdata.list_images(opts.images)
        if not files:
            raise InputError(f"no images (png/jpg/...) in {opts.images}")
        out.append((Path(opts.images).name or "images", [jdata.load_rgb(f) for f in files[:lim]]))
    if opts.data or not opts.images:
        d = jdata.resolve_data_dir(opts.data)
        out.append(("cifar10-test-lossless", jdata.load_cifar_lossless(d, "test")[:lim]))
        kodak = d / "kodak24"
        if kodak.is_dir():
            out.append(("kodak24", [jdata.load_rgb(f) for f in jdata.list_images(kodak)[:lim]]))
    for name, imgs in out:
        if len(imgs) == 0:
            raise InputError(f"dataset {name} has no images")
    return out


def _channel_label(name: str, opts: BenchOptions) -> str:
    return "awgn" if name == "awgn" else f"rayleigh_{opts.mode}_{opts.equalizer}"


def _separation_row(
    ladders: list[sep.CodecLadder],
    uses: list[int],
    snr_db: float,
    channel: str,
    mode: str,
    seed: int,
    best_codecs: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The JPEG/WebP reference (``sep_*``) and, with ``best_codecs``, the strongest one
    (``best_sep_*``), both at the same per-image budgets (the same Rayleigh draws)."""
    rng = np.random.default_rng([seed, int(round(snr_db * 100)) + 10_000])
    budgets = [sep.capacity_bits(k, snr_db, "awgn" if channel == "awgn" else "rayleigh", mode, rng) for k in uses]
    row = _sep_stats(ladders, budgets, sep.CODECS, "sep_")
    row["sep_budget_bits_mean"] = round(float(np.mean(budgets)), 1)
    if best_codecs:
        row.update(_sep_stats(ladders, budgets, best_codecs, "best_sep_"))
    return row


def _sep_stats(
    ladders: list[sep.CodecLadder], budgets: list[float], codecs: tuple[str, ...], prefix: str
) -> dict[str, Any]:
    chosen: list[sep.CodecPoint] = []
    fits = 0
    for lad, budget in zip(ladders, budgets):
        best = lad.best_within(budget, codecs)
        fits += best is not None
        chosen.append(best or lad.grey())
    return {
        f"{prefix}psnr_db": round(float(np.mean([p.psnr_db for p in chosen])), 3) if fits else None,
        f"{prefix}ssim": round(float(np.mean([p.ssim for p in chosen])), 4) if fits else None,
        f"{prefix}fit_fraction": round(fits / len(ladders), 4),
        f"{prefix}codecs": dict(Counter(p.codec for p in chosen)),
    }


def run_bench(opts: BenchOptions, argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; write JSON / Markdown / plots where asked; return the report."""
    from rich.console import Console
    from rich.progress import Progress

    torch.set_num_threads(max(1, opts.threads))
    console = Console(stderr=True)
    for ch in opts.channels:
        if ch not in ("awgn", "rayleigh"):
            raise InputError(f"--channel must be awgn or rayleigh, got {ch!r}")
    best_codecs = tuple(dict.fromkeys(opts.sep_codecs)) if opts.separation else ()
    sep.check_codecs(best_codecs)
    models = resolve_models(opts)
    datasets = load_datasets(opts)
    rows: list[dict[str, Any]] = []
    all_codecs = tuple(dict.fromkeys((*sep.CODECS, *best_codecs)))
    ladders = (
        {
            d: [sep.CodecLadder(np.asarray(im), all_codecs, cache_dir=opts.sep_cache) for im in imgs]
            for d, imgs in datasets
        }
        if opts.separation
        else {}
    )
    total = len(datasets) * len(models) * len(opts.channels) * len(opts.snrs)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("DeepJSCC", total=total)
        for dname, imgs in datasets:
            for mname, model in models:
                uses = [model.channel_uses(im.shape[0], im.shape[1]) for im in imgs]
                for ch in opts.channels:
                    channel = (
                        build_channel("awgn")
                        if ch == "awgn"
                        else build_channel("rayleigh", mode=opts.mode, equalizer=opts.equalizer)
                    )
                    for snr in opts.snrs:
                        q = evaluate(model, imgs, channel, float(snr), seed=opts.seed)
                        row: dict[str, Any] = {
                            "dataset": dname,
                            "channel": _channel_label(ch, opts),
                            "snr_db": float(snr),
                            "ratio": str(model.ratio),
                            "model": mname,
                            "n_images": q.n,
                            "psnr_db": round(q.psnr_db, 3),
                            "ssim": round(q.ssim, 4),
                            "channel_uses_mean": round(float(np.mean(uses)), 1),
                        }
                        if opts.separation:
                            srow = _separation_row(
                                ladders[dname], uses, float(snr), ch, opts.mode, opts.seed, best_codecs
                            )
                            row.update(srow)
                            for pre, key in (("sep_", "gain_db"), ("best_sep_", "best_gain_db")):
                                ref = srow.get(f"{pre}psnr_db")
                                if f"{pre}psnr_db" in srow:
                                    row[key] = None if ref is None else round(row["psnr_db"] - ref, 3)
                        rows.append(row)
                        bar.advance(task)
        tput: list[dict[str, Any]] = []
        if opts.throughput:
            t_tp = bar.add_task("throughput", total=2 * len(models))
            for mname, model in models:
                for size, batch in ((32, 64), (512, 1)):
                    ips = throughput(model, size, batch, seconds=3.0)
                    tput.append(
                        {
                            "model": mname,
                            "ratio": str(model.ratio),
                            "size": size,
                            "batch": batch,
                            "device": "cpu",
                            "threads": torch.get_num_threads(),
                            "images_per_s": round(ips, 2),
                        }
                    )
                    bar.advance(t_tp)
    report = {
        "command": "vlmsc bench jscc " + " ".join(shlex.quote(a) for a in (argv or [])),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "seed": opts.seed,
        "separation_reference": "better of JPEG/WebP (Pillow, WebP method 6) at the highest quality whose whole file fits k*C bits; "
        "C = log2(1+SNR) (AWGN), log2(1+|h|^2 SNR) per image (Rayleigh block), "
        "E[log2(1+|h|^2 SNR)] (Rayleigh fast); images that nothing fits count as mid-grey",
        "best_separation_reference": (
            f"best of {', '.join(best_codecs)} per image at the same budgets (JPEG 2000: OpenJPEG 9/7 with mct=1, "
            f"rate-targeted; AVIF: Pillow; HEIC: pillow-heif x265 preset {sep.HEIC_PRESET}); an upper bound that no "
            "practical system reaches (error-free coding at capacity)"
        )
        if best_codecs
        else None,
        "codec_versions": _codec_versions(),
        "results": rows,
        "throughput": tput,
    }
    if opts.json_path:
        Path(opts.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(opts.json_path).write_text(json.dumps(report, indent=1) + "\n")
    if opts.markdown_path:
        Path(opts.markdown_path).parent.mkdir(parents=True, exist_ok=True)
        Path(opts.markdown_path).write_text(markdown_table(report))
    if opts.plots_dir:
        plot_report(report, opts.plots_dir)
    return report


def _codec_versions() -> dict[str, str]:
    import PIL
    from PIL import features

    out = {"pillow": PIL.__version__}
    for f in ("jpg", "webp", "jpg_2000", "avif"):
        v = features.version(f)
        if v:
            out[f] = str(v)
    try:
        import pillow_heif

        out["pillow_heif"] = pillow_heif.__version__
        out["libheif"] = str(pillow_heif.libheif_version())
    except ImportError:
        pass
    return out


def _fmt(v: Any, nd: int = 2) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def markdown_table(report: dict[str, Any]) -> str:
    """The results as Markdown tables (quality per SNR, then throughput)."""
    lines = [
        "| dataset | channel | model | k/n | SNR dB | DeepJSCC PSNR | SSIM | JPEG/WebP PSNR | fits | gain dB "
        "| best separation PSNR | SSIM | fits | winning codecs | gap to best dB |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in report["results"]:
        codecs = ", ".join(f"{c} {n}" for c, n in sorted((r.get("best_sep_codecs") or {}).items(), key=lambda t: -t[1]))
        lines.append(
            f"| {r['dataset']} | {r['channel']} | {r.get('model', '')} | {r['ratio']} | {r['snr_db']:g} | "
            f"{r['psnr_db']:.2f} | {r['ssim']:.3f} | {_fmt(r.get('sep_psnr_db'))} | "
            f"{_fmt(r.get('sep_fit_fraction'))} | {_fmt(r.get('gain_db'))} | {_fmt(r.get('best_sep_psnr_db'))} | "
            f"{_fmt(r.get('best_sep_ssim'), 3)} | {_fmt(r.get('best_sep_fit_fraction'))} | {codecs or '-'} | "
            f"{_fmt(r.get('best_gain_db'))} |"
        )
    if report.get("throughput"):
        lines += ["", "| model | size | batch | encode+decode images/s (CPU) |", "|---|---:|---:|---:|"]
        for t in report["throughput"]:
            lines.append(f"| {t['model']} | {t['size']}x{t['size']} | {t['batch']} | {t['images_per_s']:.1f} |")
    return "\n".join(lines) + "\n"


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="DeepJSCC vs separation at capacity (JPEG/WebP; best of all codecs)")
    for c in (
        "dataset",
        "channel",
        "k/n",
        "SNR",
        "PSNR",
        "SSIM",
        "JPEG/WebP",
        "fits",
        "gain",
        "best sep",
        "fits",
        "gap",
    ):
        t.add_column(c, justify="right" if c not in ("dataset", "channel") else "left")
    for r in report["results"]:
        t.add_row(
            r["dataset"],
            r["channel"],
            r["ratio"],
            f"{r['snr_db']:g}",
            f"{r['psnr_db']:.2f}",
            f"{r['ssim']:.3f}",
            _fmt(r.get("sep_psnr_db")),
            _fmt(r.get("sep_fit_fraction")),
            _fmt(r.get("gain_db")),
            _fmt(r.get("best_sep_psnr_db")),
            _fmt(r.get("best_sep_fit_fraction")),
            _fmt(r.get("best_gain_db")),
        )
    con = Console()
    con.print(t)
    for tp in report.get("throughput", []):
        con.print(
            f"throughput {tp['model']} {tp['size']}x{tp['size']} batch {tp['batch']}: "
            f"{tp['images_per_s']:.1f} images/s (CPU, {tp['threads']} threads)"
        )


def plot_report(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """PSNR-vs-SNR plots, one per dataset x channel (DeepJSCC solid, separation dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in report["results"]:
        groups.setdefault((r["dataset"], r["channel"]), []).append(r)
    for (dname, ch), rows in groups.items():
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ratio in sorted({r["ratio"] for r in rows}, key=lambda s: -float(parse_ratio(s))):
            rr = sorted((r for r in rows if r["ratio"] == ratio), key=lambda r: r["snr_db"])
            snrs = [r["snr_db"] for r in rr]
            for ax, key, skey in ((axes[0], "psnr_db", "sep_psnr_db"), (axes[1], "ssim", "sep_ssim")):
                (line,) = ax.plot(snrs, [r[key] for r in rr], "o-", label=f"DeepJSCC k/n={ratio}")
                sv = [(r["snr_db"], r.get(skey)) for r in rr if r.get(skey) is not None]
                if sv:
                    ax.plot(
                        [s for s, _ in sv],
                        [v for _, v in sv],
                        "s--",
                        color=line.get_color(),
                        label=f"JPEG/WebP + capacity k/n={ratio}",
                    )
                bv = [(r["snr_db"], r.get("best_" + skey)) for r in rr if r.get("best_" + skey) is not None]
                if bv:
                    ax.plot(
                        [s for s, _ in bv],
                        [v for _, v in bv],
                        "^:",
                        color=line.get_color(),
                        label=f"best codec + capacity k/n={ratio} (bound)",
                    )
        for ax, lab in ((axes[0], "PSNR (dB)"), (axes[1], "SSIM")):
            ax.set_xlabel("SNR (dB)")
            ax.set_ylabel(lab)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{dname}, {ch}")
        fig.tight_layout()
        p = out / f"{dname}_{ch}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths
