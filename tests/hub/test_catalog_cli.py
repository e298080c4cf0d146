"""``vlmsc models list``: every backend, what it needs, whether it is available here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vlm_privsc.hub.catalog import backend_status, catalog
from vlm_privsc.hub.cli import register

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    return app


def _rows(app: typer.Typer, *args: str) -> dict[tuple[str, str], dict]:
    res = runner.invoke(app, ["models", "list", "--json", *args])
    assert res.exit_code == 0, res.output
    return {(r["stage"], r["name"]): r for r in json.loads(res.stdout)}


def test_lists_every_backend_of_every_registry(app: typer.Typer):
    from vlm_privsc.guard.detectors import DETECTORS
    from vlm_privsc.guard.segmenters import SEGMENTERS
    from vlm_privsc.identity import MATCHERS
    from vlm_privsc.inpaint import INPAINTERS
    from vlm_privsc.jscc import DEFAULT_MODEL
    from vlm_privsc.semantics import EMBEDDERS

    rows = _rows(app)
    for stage, reg in (
        ("detector", DETECTORS),
        ("segmenter", SEGMENTERS),
        ("text embedder", EMBEDDERS),
        ("inpainter", INPAINTERS),
        ("identity matcher", MATCHERS),
    ):
        for name in reg.names():
            assert (stage, name) in rows
    assert ("jscc", DEFAULT_MODEL) in rows
    owl = rows[("detector", "owlv2")]
    assert owl["available"] is False and "google/owlv2-base-patch16-ensemble" in owl["needs"]
    assert "transformers" in owl["needs"] and "--weights-dir" in owl["detail"]
    sd = rows[("inpainter", "sd")]
    assert sd["available"] is False and "stable-diffusion-v1-5/stable-diffusion-inpainting" in sd["needs"]
    assert rows[("segmenter", "sam")]["needs"].startswith("segment-anything; weights sam_vit_b_01ec64.pth")
    assert rows[("inpainter", "telea")]["available"] in (True, None)


def test_weights_dir_makes_a_backend_available(app: typer.Typer, owlv2_dir: Path, tmp_path: Path):
    (tmp_path / "google").mkdir()
    (tmp_path / "google" / "owlv2-base-patch16-ensemble").symlink_to(owlv2_dir, target_is_directory=True)
    rows = _rows(app, "--weights-dir", str(tmp_path))
    owl = rows[("detector", "owlv2")]
    assert owl["available"] is True and owl["detail"].endswith("owlv2")  # the resolved folder
    assert rows[("detector", "grounding_dino")]["available"] is False


def test_preset_marks_and_checks_its_backends(app: typer.Typer):
    rows = _rows(app, "--preset", "grounded-sam-sd")
    used = {k for k, r in rows.items() if r["used_by_preset"]}
    assert {
        ("detector", "grounding_dino"),
        ("segmenter", "sam"),
        ("text embedder", "clip"),
        ("inpainter", "sd"),
        ("identity matcher", "sface"),
    } <= used
    assert ("detector", "owlv2") not in used
    res = runner.invoke(app, ["models", "list", "--preset", "owlv2-sam"])
    assert res.exit_code == 0 and "owlv2" in res.stdout and "sam_hf" in res.stdout


def test_errors_are_one_line_exit_2(app: typer.Typer, tmp_path: Path):
    res = runner.invoke(app, ["models", "list", "--weights-dir", str(tmp_path / "missing")])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("vlmsc: error: --weights-dir") and "Traceback" not in res.output
    res = runner.invoke(app, ["models", "list", "--preset", "no-such-preset"])
    assert res.exit_code == 2 and "unknown pipeline preset" in res.stderr


def test_backend_status_fallbacks():
    class Bare:
        """A backend without any availability convention."""

    class Matcher:  # the one contract: availability(**params)
        @classmethod
        def availability(cls, **params):
            return False, "needs the xyz wheel"

    class Reqs:
        requires = (("no_such_module_xyz", "no-such-pip"),)

    class Broken:
        @classmethod
        def availability(cls, **params):
            raise RuntimeError("boom")

    assert backend_status("s", "bare", Bare).available is None
    assert backend_status("s", "bare", Bare).needs == "A backend without any availability convention"
    m = backend_status("s", "m", Matcher)
    assert m.available is False and m.detail == "needs the xyz wheel"
    r = backend_status("s", "r", Reqs)
    assert r.available is False and r.detail == "pip install no-such-pip"
    b = backend_status("s", "b", Broken)
    assert b.available is False and "boom" in b.detail


def test_catalog_checks_with_given_params(sd_dir: Path):
    rows = {(r.stage, r.name): r for r in catalog({("inpainter", "sd"): {"model": str(sd_dir)}})}
    sd = rows[("inpainter", "sd")]
    assert sd.available is True and sd.used and sd.detail == str(sd_dir.resolve())


@pytest.mark.parametrize("preset,first", [("grounded-sam-sd", "grounding_dino"), ("owlv2-sam", "owlv2")])
def test_vlmsc_run_without_weights_is_one_line_exit_2(preset: str, first: str, astronaut_png: Path, tmp_path: Path):
    """The presets' missing weights stop `vlmsc run` with exit code 2 and one line naming
    the hub id and how to provide it; nothing silently falls back to another model."""
    from vlm_privsc.cli import app as vlmsc

    res = runner.invoke(
        vlmsc, ["run", "--demo-key", "-i", str(astronaut_png), "--preset", preset, "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output
    assert lines[0].startswith(f"vlmsc: error: {first}: weights ") and "--weights-dir" in lines[0]
    assert not (tmp_path / "o").exists()


def test_offline_backends_report_their_wheel_files(app: typer.Typer):
    rows = _rows(app)
    for key, needle in (
        (("detector", "yunet"), "yunet"),
        (("detector", "mtcnn"), "onet.pt"),
        (("detector", "ppocr_text"), "_det_"),
        (("detector", "selfie_segmentation"), ".tflite"),
        (("detector", "plate_cascade"), "haarcascade"),
        (("text embedder", "minilm"), "minilm"),
        (("inpainter", "telea"), "OpenCV"),
    ):
        assert rows[key]["available"] is True and needle in rows[key]["detail"], rows[key]
    # every offline backend answers yes or no, never "not checked" (other tests register fakes: not listed here)
    offline = [
        "yunet",
        "mtcnn",
        "mediapipe_face",
        "ppocr_text",
        "plate_text",
        "plate_cascade",
        "plate_cascade_ocr",
        "selfie_segmentation",
        "hog_people",
        "minilm",
        "telea",
        "ns",
        "pushpull",
        "sface",
    ]
    by_name = {name: r for (_, name), r in rows.items()}
    assert all(by_name[n]["available"] is not None for n in offline), [
        n for n in offline if by_name[n]["available"] is None
    ]


def test_offline_availability_names_what_is_missing(monkeypatch, tmp_path: Path):
    import importlib.util

    from vlm_privsc.guard.detectors.faces import YuNetFaceDetector
    from vlm_privsc.guard.detectors.text import PPOCRTextDetector

    ok, detail = YuNetFaceDetector.availability(model_path=str(tmp_path / "nope.onnx"))
    assert not ok and "does not exist" in detail
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rapidocr" else real(name, *a))
    assert PPOCRTextDetector.availability() == (False, "pip install rapidocr")
