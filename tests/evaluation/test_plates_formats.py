"""The multi-format plate benchmark: deterministic synthetic plates, put on a photo at the
physical scale of its labelled US plate, measured by the project's coverage rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlm_privsc.db import load_db
from vlm_privsc.evaluation.bench import plates_formats as pf


def _car(tmp_path: Path, name: str = "car.png") -> Path:
    """A grey car with a white US plate (dark characters) at x=120..200, y=150..190."""
    img = np.full((240, 320, 3), 70, np.uint8)
    img[150:190, 120:200] = 235
    img[160:180, 128:192:8] = 20
    Image.fromarray(img).save(tmp_path / name)
    (tmp_path / (Path(name).stem + ".txt")).write_text(f"{name}\t120\t150\t80\t40\tABC1234\n")
    return tmp_path / name


def test_patterns_and_render_are_deterministic():
    rng = np.random.default_rng(3)
    t = pf._pattern("LL-999", rng)
    assert t[:2].isalpha() and t[2] == "-" and t[3:].isdigit() and not set(t) & set("IOQ")
    for name, fmt in pf.FORMATS.items():
        a, ta = pf.render(fmt, np.random.default_rng(7))
        b, tb = pf.render(fmt, np.random.default_rng(7))
        assert np.array_equal(a, b) and ta == tb, name
        w, h = fmt.size_mm
        assert a.shape == (round(h * pf.RENDER_PX_PER_MM), round(w * pf.RENDER_PX_PER_MM), 3)
        assert len(ta) == len(fmt.fields) and a.std() > 20  # characters were drawn
    assert pf.render(pf.FORMATS["digits"], np.random.default_rng(1))[1][0].replace(" ", "").isdigit()


def test_composite_covers_the_us_plate_at_its_scale(tmp_path):
    photo = np.asarray(Image.open(_car(tmp_path)).convert("RGB"))
    c = pf.composite(photo, (120, 150, 80, 40), pf.FORMATS["eu_de"], seed=5)
    x0, y0, x1, y1 = c.box
    # 520 mm at 80 px / 305 mm: ~136 px wide, ~29 px high, centred on the old plate
    assert 125 <= x1 - x0 <= 150 and 25 <= y1 - y0 <= 36
    assert abs((x0 + x1) / 2 - 160) < 6 and abs((y0 + y1) / 2 - 170) < 6
    assert c.image.shape == photo.shape and not np.array_equal(c.image, photo)
    assert c.image[:100].tolist() == photo[:100].tolist()  # away from the plate nothing changed
    again = pf.composite(photo, (120, 150, 80, 40), pf.FORMATS["eu_de"], seed=5)
    assert np.array_equal(again.image, c.image) and again.texts == c.texts
    # a plate near the border is kept inside the photo
    edge = pf.composite(photo, (0, 200, 80, 40), pf.FORMATS["uk_rear"], seed=1)
    assert edge.box[0] >= 0 and edge.box[2] <= 320 and edge.box[3] <= 240


def test_plate_photos_and_variant_dbs(tmp_path):
    _car(tmp_path)
    (tmp_path / "bad.txt").write_text("bad.png 1 2\n")
    (tmp_path / "ghost.txt").write_text("ghost.png 1 2 3 4 X\n")
    assert pf.plate_photos(tmp_path) == [(tmp_path / "car.png", (120.0, 150.0, 80.0, 40.0))]
    dbs = pf.variant_dbs(load_db())
    plate = {k: db.categories["license_plate"].confirm for k, db in dbs.items()}
    assert plate["default"].frame is not None and plate["default"].read is not None
    assert plate["no_frame"].frame is None and plate["no_frame"].read == plate["default"].read
    assert plate["no_gates"] is None


def test_main_quick_writes_json_and_markdown(tmp_path):
    data = tmp_path / "plates"
    data.mkdir()
    _car(data)
    out = tmp_path / "out" / "formats.json"
    assert pf.main(["--data", str(data), "--quick", "--formats", "uk_rear,two_line", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["photos"] == 1 and list(res["formats"]) == ["uk_rear", "two_line"]
    for s in res["formats"].values():
        assert s["photos"] == 1 and set(s) >= {"default", "no_frame", "no_gates"}
        assert 0.0 <= s["default"]["recall"] <= 1.0
        # a gate only removes: the default finds no more than the ungated database
        assert s["default"]["found"] <= s["no_frame"]["found"] <= s["no_gates"]["found"]
    item = res["items"][0]
    assert item["photo"] == "car.png" and len(item["box"]) == 4 and isinstance(item["default"]["found"], bool)
    md = out.with_suffix(".md").read_text()
    assert "| uk_rear: UK rear" in md and "scripts/bench_plate_formats.py" in md


def test_main_refuses_unknown_formats_and_missing_data(tmp_path, capsys):
    assert pf.main(["--data", str(tmp_path), "--formats", "mars"]) == 2
    assert "unknown format" in capsys.readouterr().err
    assert pf.main(["--data", str(tmp_path / "none")]) == 2


@pytest.mark.parametrize("name", sorted(pf.FORMATS))
def test_every_format_has_a_description_and_plate_sized_fields(name):
    fmt = pf.FORMATS[name]
    w, h = fmt.size_mm
    assert fmt.description and all(0 <= f.box[0] < f.box[2] <= w and 0 <= f.box[1] < f.box[3] <= h for f in fmt.fields)
