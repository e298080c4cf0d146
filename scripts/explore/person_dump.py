"""Issue 17, person gate sweep, step 1: cache the person and face detectors' detections on the labelled
BSDS500 test photos (run from the repository root; writes /tmp/explore/person.pkl)."""

import csv
import os
import pickle

import torch

os.makedirs("/tmp/explore", exist_ok=True)
import cv2

from vlm_privsc.guard.detectors import build_detector
from vlm_privsc.io.images import load_rgb

torch.set_num_threads(1)
lab = {
    r["file"]: r["person"]
    for r in csv.DictReader(l for l in open("eval/annotations/bsds500_test_categories.csv") if not l.startswith("#"))
}
dets = {
    "selfie": build_detector("selfie_segmentation"),
    "hog": build_detector("hog_people", {"hit_threshold": -1.0}),
    "hog2x": build_detector("hog_people", {"hit_threshold": -1.0, "max_side": 1000}),
    "yunet": build_detector("yunet"),
    "mtcnn": build_detector("mtcnn", {"max_side": 640}),
}
out = {}
for f, l in sorted(lab.items()):
    if l not in "01":
        continue
    rgb = load_rgb("../shared/data/bsds500/test/" + f)[0]
    r = {}
    for k, d in dets.items():
        img = rgb
        if k == "hog2x":
            img = cv2.resize(rgb, (rgb.shape[1] * 2, rgb.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
        ds = d.detect(img)
        if k == "hog2x":
            from vlm_privsc.guard.detectors.base import Detection

            ds = [Detection(tuple(v / 2 for v in x.box), x.score, x.detector) for x in ds]
        r[k] = ds
    out[f] = (l, r)
    pickle.dump(out, open("/tmp/explore/person.pkl", "wb"))
print("done", len(out))
