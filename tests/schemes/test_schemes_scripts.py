"""The reproduction scripts in --quick mode (synthetic data; never ../shared/data)."""

from __future__ import annotations

import csv
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


MODULES = {
    "repro_celeba_attributes": "vlm_privsc.evaluation.repro.celeba",
    "complexity": "vlm_privsc.evaluation.repro.complexity",
    "repro_text_gain": "vlm_privsc.evaluation.repro.text_gain",
    "symbols_sent": "vlm_privsc.evaluation.bench.symbols",
    "repro_survey": "vlm_privsc.evaluation.repro.survey",
    "repro_multitask": "vlm_privsc.evaluation.repro.multitask",
    "repro_multitask_sweep": "vlm_privsc.evaluation.repro.multitask_sweep",
    "repro_survey_seeds": "vlm_privsc.evaluation.repro.survey_seeds",
    "train_scheme_base": "vlm_privsc.evaluation.repro.scheme_base",
}
"""The library module behind each ``scripts/<name>.py`` entry point."""


def load(name: str):
    if name in MODULES:
        return importlib.import_module(MODULES[name])
    spec = importlib.util.spec_from_file_location(f"_script_{name}", ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.fixture
def nodata(tmp_path: Path) -> Path:
    return tmp_path / "no_such_data"


def test_repro_survey_quick(tmp_path, nodata):
    out = tmp_path / "survey"
    assert load("repro_survey").main(["--quick", "--data", str(nodata), "--out", str(out), "--threads", "1"]) == 0
    r = rows(out / "accuracy_vs_snr.csv")
    assert list(r[0]) == ["scheme", "snr_db", "accuracy", "attacker_psnr_db"]
    assert {x["scheme"] for x in r} == {
        "deepjscc",
        "dp_eps0.05",
        "dp_eps0.1",
        "dp_eps0.9",
        "encryption",
        "encryption_fixedkey",
        "ibal",
        "lbvq",
    }
    assert {float(x["snr_db"]) for x in r} == {0.0, 20.0}
    assert all(0.0 <= float(x["accuracy"]) <= 1.0 and float(x["attacker_psnr_db"]) > 0 for x in r)
    readme = (out / "README.md").read_text()
    assert "QUICK RUN" in readme and "--quick" in readme
    assert (out / "accuracy_vs_snr.png").stat().st_size > 0


def test_repro_survey_seeds_quick(tmp_path, nodata):
    out = tmp_path / "seeds"
    mod = load("repro_survey_seeds")
    argv = ["--seeds", "0", "1", "--out", str(out), "--", "--quick", "--data", str(nodata), "--threads", "1"]
    argv += ["--schemes", "deepjscc,dp,lbvq"]
    assert mod.main(argv) == 0
    one = rows(out / "seed1" / "accuracy_vs_snr.csv")
    summary = rows(out / "summary.csv")
    assert len(summary) == len(one) and all(x["seeds"] == "2" for x in summary)
    zero = {(x["scheme"], x["snr_db"]): float(x["accuracy"]) for x in rows(out / "seed0" / "accuracy_vs_snr.csv")}
    for x in summary:
        mean = (
            zero[(x["scheme"], x["snr_db"])]
            + next(float(y["accuracy"]) for y in one if (y["scheme"], y["snr_db"]) == (x["scheme"], x["snr_db"]))
        ) / 2
        assert float(x["accuracy"]) == pytest.approx(mean, abs=1e-4)
        assert float(x["accuracy_lo"]) <= float(x["accuracy"]) <= float(x["accuracy_hi"])
        assert float(x["attacker_psnr_db_lo"]) <= float(x["attacker_psnr_db"]) <= float(x["attacker_psnr_db_hi"])
    text = (out / "README.md").read_text()
    assert "QUICK RUN" in text and "lbvq vs dp_eps0.9 at 0 dB" in text and "seed by seed: " in text
    assert (out / "survey_seeds.png").stat().st_size > 0
    # finished runs are not repeated, and a run made elsewhere is read through --reuse
    stamp = (out / "seed1" / "accuracy_vs_snr.csv").stat().st_mtime_ns
    elsewhere = tmp_path / "elsewhere"
    (out / "seed0").rename(elsewhere)
    assert mod.main(["--reuse", f"0={elsewhere}", *argv]) == 0
    assert (out / "seed1" / "accuracy_vs_snr.csv").stat().st_mtime_ns == stamp and not (out / "seed0").exists()
    assert rows(out / "summary.csv") == summary


@pytest.mark.parametrize("argv", [["--", "--seed", "3"], ["--reuse", "0=/no/such/run"], ["--reuse", "zero"]])
def test_repro_survey_seeds_refuses_bad_arguments(tmp_path, argv):
    with pytest.raises(SystemExit) as e:
        load("repro_survey_seeds").main(["--out", str(tmp_path), *argv])
    assert e.value.code == 2


def test_repro_multitask_sweep_quick(tmp_path, nodata):
    out = tmp_path / "sweep"
    mod = load("repro_multitask_sweep")
    argv = ["--weights", "0", "2", "--seeds", "0", "1", "--out", str(out), "--"]
    argv += ["--quick", "--data", str(nodata), "--datasets", "mnist", "--latents", "8", "--threads", "1"]
    assert mod.main(argv) == 0
    r = rows(out / "sweep.csv")
    assert len(r) == 2 * 2 * 4 and {(x["privacy_weight"], x["seed"]) for x in r} == {
        ("0.0000", "0"),
        ("0.0000", "1"),
        ("2.0000", "0"),
        ("2.0000", "1"),
    }
    base = [x for x in r if x["method"] == "baseline"]
    # the baseline does not depend on the privacy weight: trained once per seed, the same model under every weight
    assert {x["bob_accuracy"] for x in base if x["seed"] == "0"} == {base[0]["bob_accuracy"]}
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["baseline", "w0", "w2"]
    assert [x["method"] for x in rows(out / "baseline" / "seed1" / "results.csv")] == [
        "baseline",
        "baseline+perturbation",
    ]
    assert [x["method"] for x in rows(out / "w2" / "seed1" / "results.csv")] == ["minmax", "minmax+perturbation"]
    summary = rows(out / "summary.csv")
    assert len(summary) == 2 * 4 and all(x["seeds"] == "2" for x in summary)
    for x in summary:
        assert float(x["bob_accuracy_lo"]) <= float(x["bob_accuracy"]) <= float(x["bob_accuracy_hi"])
    text = (out / "README.md").read_text()
    assert "QUICK RUN" in text and "privacy weight 2: " in text and "min-max, mnist latent 8" in text
    assert (out / "tradeoff_mnist.png").stat().st_size > 0
    # a finished run is not repeated: the sweep resumes
    stamp = (out / "w2" / "seed1" / "results.csv").stat().st_mtime_ns
    assert mod.main(argv) == 0
    assert (out / "w2" / "seed1" / "results.csv").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("flag", [["--seed", "3"], ["--methods=minmax"]])
def test_repro_multitask_sweep_refuses_its_own_flags(tmp_path, flag):
    mod = load("repro_multitask_sweep")
    with pytest.raises(SystemExit) as e:
        mod.main(["--out", str(tmp_path), "--", *flag])
    assert e.value.code == 2


def test_repro_multitask_refuses_unknown_methods(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        load("repro_multitask").main(["--out", str(tmp_path), "--methods", "baseline,dp"])
    assert e.value.code == 2 and "--methods: unknown dp" in capsys.readouterr().err


def test_repro_multitask_quick(tmp_path, nodata):
    out = tmp_path / "mt"
    mod = load("repro_multitask")
    assert (
        mod.main(
            [
                "--quick",
                "--data",
                str(nodata),
                "--out",
                str(out),
                "--datasets",
                "mnist",
                "--latents",
                "8",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    r = rows(out / "results.csv")
    assert list(r[0]) == list(mod.COLUMNS)
    assert [x["method"] for x in r] == ["baseline", "baseline+perturbation", "minmax", "minmax+perturbation"]
    assert all(x["dataset"] == "mnist" and x["latent_dim"] == "8" for x in r)
    assert (out / "mnist_vs_latent.png").is_file() and "QUICK RUN" in (out / "README.md").read_text()


def test_repro_multitask_quick_with_the_tuned_schedule(tmp_path, nodata):
    out = tmp_path / "mt"
    argv = ["--quick", "--data", str(nodata), "--out", str(out), "--datasets", "mnist", "--latents", "8"]
    argv += ["--threads", "1", "--eve-warmup", "1", "--ramp", "0.5", "--eve-steps", "2", "--bob-heads-epochs", "1"]
    assert load("repro_multitask").main(argv) == 0
    log = (out / "log.txt").read_text()
    assert "Eve warmed up for 1 epochs" in log
    assert "baseline: Bob's heads on the frozen encoder" in log and "minmax: Bob's heads on the frozen encoder" in log
    text = (out / "README.md").read_text()
    assert "2 Eve updates per batch; Eve warmed up alone for 1 epochs first" in text
    assert "ramped from 0 over the first 50% of the steps; then Bob's heads alone for 1 epochs" in text
    assert len(rows(out / "results.csv")) == 4


def test_repro_celeba_quick(tmp_path, nodata):
    out = tmp_path / "celeba"
    assert (
        load("repro_celeba_attributes").main(["--quick", "--data", str(nodata), "--out", str(out), "--threads", "1"])
        == 0
    )
    r = rows(out / "attribute_inference.csv")
    settings = [x["setting"] for x in r]
    assert settings[:2] == ["original pixels (reference)", "majority guess"]
    assert "Eve, shuffle (Eve without key)" in settings
    assert "TINY" in (out / "README.md").read_text()


def test_complexity_quick(tmp_path):
    out = tmp_path / "cx"
    assert load("complexity").main(["--quick", "--out", str(out), "--threads", "1"]) == 0
    r = {x["scheme"]: x for x in rows(out / "complexity.csv")}
    assert {
        "deepjscc",
        "dp",
        "encryption (shuffle)",
        "lbvq",
        "ibal",
        "minmax (multi-task Bob)",
        "perturbation (PGD)",
    } == set(r)
    base = float(r["deepjscc"]["mflops_per_image"])
    assert base > 0
    assert float(r["perturbation (PGD)"]["mflops_per_image"]) > base  # PGD steps cost FLOPs
    assert int(r["ibal"]["params_train_only"]) > 0  # the simulated attacker
    assert int(r["lbvq"]["params_deployed"]) == int(r["deepjscc"]["params_deployed"]) + 32  # 16 x 2 codebook


def test_repro_text_gain_quick(tmp_path, nodata):
    out = tmp_path / "tg"
    mod = load("repro_text_gain")
    assert (
        mod.main(
            [
                "--quick",
                "--data",
                str(nodata),
                "--out",
                str(out),
                "--snr",
                "0,20",
                "--channels",
                "awgn",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    r = rows(out / "results.csv")
    assert [(float(x["snr_db"]), x["arm"]) for x in r] == [(s, a) for s in (0.0, 20.0) for a in mod.ARMS]
    g = rows(out / "gain.csv")
    assert len(g) == 2 and float(g[1]["text_accuracy"]) == 1.0
    for x in g:  # the gain columns agree with the PSNR columns
        pn, pt = float(x["psnr_no_text_db"]), float(x["psnr_text_db"])
        assert abs(float(x["gain_db"]) - (pt - pn)) < 2e-3
        assert abs(float(x["psnr_rel_change"]) - (pt - pn) / pn) < 2e-4
    readme = (out / "README.md").read_text()
    assert "QUICK RUN" in readme and "--quick" in readme and (out / "text_gain.png").stat().st_size > 0


def test_symbols_sent_counts_what_the_mask_aware_code_sends(tmp_path):
    import json

    out = tmp_path / "s.json"
    mod = load("symbols_sent")
    assert (
        mod.main(["--image", "skimage:astronaut", "--image", "skimage:coffee", "--threads", "1", "--json", str(out)])
        == 0
    )
    r = json.loads(out.read_text())
    face, no_face = r["rows"]
    assert 0 < face["private_fraction"] and face["symbols_sent"] < face["symbols"]  # the astronaut's face
    assert no_face["private_fraction"] == 0 and no_face["symbols_sent"] == no_face["symbols"]
    assert r["summary"]["photos"] == 2 and r["summary"]["share_sent_max"] == 1.0
    assert mod.main(["--image", "skimage:astronaut", "--policy", "nope"]) == 2


def test_every_script_wraps_user_errors():
    """Each ``scripts/*.py`` entry point runs its main through :func:`run_main` (or the jscc CLI)."""
    for path in sorted((ROOT / "scripts").glob("*.py")):
        text = path.read_text()
        assert "run_main(main)" in text or "run_command(" in text, path.name


def test_script_user_error_is_one_line_exit_2(tmp_path):
    import subprocess

    out = tmp_path / "seeds"
    p = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "repro_survey_seeds.py"), "--seeds", "0", "--out", str(out)]
        + ["--", "--data", str(tmp_path / "no_such_data"), "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [
        f"error: data folder {tmp_path / 'no_such_data'} does not exist; "
        "pass --data DIR (or --quick for synthetic data)"
    ]
