"""The guard-precision benchmark counts false masks on photos labelled without a category."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import tests.guard.fakes  # noqa: F401  (registers fixed_boxes)
from vlm_privsc.db import load_db
from vlm_privsc.evaluation.precision import markdown, measure, read_labels

DB = """
extends: none
categories:
  person:
    description: people
    prompts: [a person]
    inpaint_prompt: a wall
    mask: {shape: box, dilate: 0.0}
    detectors:
      - name: fixed_boxes
        params: {boxes: [[10, 10, 30, 40, 0.9]]}
  text:
    description: "text (no detector here, never found)"
    prompts: [text]
    inpaint_prompt: a wall
policies:
  people: {description: people, categories: [person]}
  text: {description: text, categories: [text]}
"""


def test_false_masks_and_photo_recall(tmp_path: Path):
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png", "d.png"):
        Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(tmp_path / name)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "# a comment\nfile,person,text,license_plate\na.png,0,0,0\nb.png,0,1,0\nc.png,1,0,0\nd.png,?,?,0\n"
    )
    dbf = tmp_path / "db.yaml"
    dbf.write_text(DB)
    res = {r.category: r for r in measure(tmp_path, read_labels(labels), ["person", "text"], db=load_db(dbf))}
    p, t = res["person"], res["text"]
    assert (p.negatives, p.false_masked_photos, p.false_mask_rate) == (2, 2, 1.0)  # the '?' photo is left out
    assert p.false_photos == ("a.png", "b.png") and p.positives == 1 and p.photo_recall == 1.0
    assert p.false_masked_fraction == round(20 * 30 / (64 * 80), 5)
    assert (t.negatives, t.false_mask_rate, t.positives, t.photo_recall) == (2, 0.0, 1, 0.0)
    md = markdown(list(res.values()), "cmd", str(tmp_path))
    assert "| person | people | 2 | 2 | 1.000 |" in md and "- person: a.png, b.png" in md
