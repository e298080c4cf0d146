"""A fake detector for guard tests: returns fixed boxes, registered once."""

from __future__ import annotations

import numpy as np

from vlm_privsc.guard.detectors import DETECTORS, Detection


class FixedBoxes:
    """Returns the boxes given in params (``boxes: [[x0,y0,x1,y1,score], ...]``)."""

    name = "fixed_boxes"
    calls = 0

    def __init__(self, boxes: list[list[float]] | None = None, with_mask: bool = False) -> None:
        self.boxes = boxes or []
        self.with_mask = with_mask

    def detect(self, image: np.ndarray, prompts: tuple[str, ...] = ()) -> list[Detection]:
        FixedBoxes.calls += 1
        out = []
        h, w = image.shape[:2]
        for x0, y0, x1, y1, s in self.boxes:
            m = None
            if self.with_mask:
                m = np.zeros((h, w), bool)
                m[int(y0) : int(y1), int(x0) : int(x1)] = True
            out.append(Detection((x0, y0, x1, y1), s, self.name, mask=m))
        return out


if "fixed_boxes" not in DETECTORS:
    DETECTORS.register("fixed_boxes")(FixedBoxes)

DB_YAML = """
extends: none
categories:
  face:
    description: faces
    prompts: [a face]
    identity: true
    inpaint_prompt: a face
    threshold: 0.5
    nms_iou: 0.3
    mask: {shape: ellipse, dilate: 0.1}
    detectors:
      - name: fixed_boxes
        params: {boxes: [[40, 40, 80, 90, 0.9], [42, 44, 82, 92, 0.7], [100, 10, 120, 30, 0.3]]}
  sign:
    description: signs
    prompts: [a sign]
    inpaint_prompt: a wall
    mask: {shape: box, dilate: 0.0}
    detectors:
      - name: fixed_boxes
        params: {boxes: [[5, 100, 60, 120, 0.8]]}
  ghost:
    description: no detector
    prompts: [a ghost]
    inpaint_prompt: air
policies:
  faces: {categories: [face]}
  all: {categories: "*"}
  none: {categories: []}
"""
