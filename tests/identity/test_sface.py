"""SFace (YuNet + SFace via OpenCV) on packaged photos: the behaviours leakage evaluation needs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.identity.conftest import blur_box, jpeg, mask_box, noisy, side_by_side
from vlm_privsc.errors import MissingWeightsError
from vlm_privsc.identity import SFaceMatcher, build_matcher, get_matcher


@pytest.fixture(scope="module")
def sface() -> SFaceMatcher:
    m = build_matcher("sface")
    assert isinstance(m, SFaceMatcher)
    return m


def test_threshold_is_opencvs_published_value(sface: SFaceMatcher) -> None:
    assert sface.threshold == pytest.approx(0.363)
    assert sface.embedding_dim == 128


def test_astronaut_has_one_face_where_it_is(sface: SFaceMatcher, astronaut: np.ndarray) -> None:
    faces = sface.faces(astronaut)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    assert 150 < x0 < x1 < 290 and 30 < y0 < y1 < 200  # Eileen Collins' face
    lm = faces[0].landmarks_array()
    assert lm.shape == (5, 2)
    assert lm[0, 0] < lm[1, 0]  # eyes, image-left first
    assert (lm[:, 0] > x0).all() and (lm[:, 0] < x1).all()


def test_blank_image_has_no_face(sface: SFaceMatcher) -> None:
    blank = np.full((300, 400, 3), 255, np.uint8)
    assert sface.faces(blank) == []
    assert sface.embed_largest(blank) is None
    r = sface.compare(blank, blank)
    assert r.similarity is None and r.same_identity is None and r.n_faces_original == 0


def test_embedding_is_unit_norm(sface: SFaceMatcher, astronaut: np.ndarray) -> None:
    e = sface.embed(astronaut, sface.faces(astronaut)[0])
    assert e.shape == (128,) and e.dtype == np.float32
    assert np.linalg.norm(e) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("variant", ["jpeg30", "noise8"])
def test_mildly_degraded_copy_matches_itself(sface: SFaceMatcher, astronaut: np.ndarray, variant: str) -> None:
    cand = jpeg(astronaut, 30) if variant == "jpeg30" else noisy(astronaut, 8)
    r = sface.compare(astronaut, cand)
    assert r.same_identity is True and r.similarity > 0.8
    assert r.face_found_in_candidate is True and r.n_faces_original == 1


def test_grace_hopper_also_matches_a_jpeg_copy_of_herself(sface: SFaceMatcher, grace_hopper: np.ndarray) -> None:
    r = sface.compare(grace_hopper, jpeg(grace_hopper, 40))
    assert r.same_identity is True and r.similarity > 0.8


def test_astronaut_and_grace_hopper_are_different_people(
    sface: SFaceMatcher, astronaut: np.ndarray, grace_hopper: np.ndarray
) -> None:
    a, g = sface.embed_largest(astronaut), sface.embed_largest(grace_hopper)
    assert a is not None and g is not None
    s = sface.similarity(a, g)
    assert s < sface.threshold and not sface.is_same(s)


@pytest.mark.parametrize("how", ["blur", "mask", "grey"])
def test_destroyed_face_in_candidate_gives_low_similarity(sface: SFaceMatcher, astronaut: np.ndarray, how: str) -> None:
    box = sface.faces(astronaut)[0].box
    if how == "blur":
        cand = blur_box(astronaut, box, sigma=(box[2] - box[0]) / 4)
    elif how == "mask":
        cand = mask_box(astronaut, box)
    else:
        cand = np.full_like(astronaut, 128)
    r = sface.compare(astronaut, cand)
    assert r.similarity is not None and r.similarity < sface.threshold
    assert r.same_identity is False and r.face_found_in_candidate is False


def test_candidate_without_a_detectable_face_still_gets_a_similarity(
    sface: SFaceMatcher, astronaut: np.ndarray
) -> None:
    # heavy noise defeats YuNet while the aligned crop still carries the identity
    results = [sface.compare(astronaut, noisy(astronaut, s, seed=1)) for s in (42, 46, 50)]
    for r in results:
        assert r.n_faces_original == 1 and r.similarity is not None and len(r.per_face) == 1
    assert any(not r.face_found_in_candidate and r.same_identity for r in results)


def test_several_faces_report_the_worst_case_and_each_value(
    sface: SFaceMatcher, astronaut: np.ndarray, grace_hopper: np.ndarray
) -> None:
    both = side_by_side(astronaut, grace_hopper)
    faces = sface.faces(both)
    assert len(faces) == 2
    hopper_box = next(f.box for f in faces if f.box[0] > astronaut.shape[1])
    cand = mask_box(both, hopper_box)  # hide Grace Hopper only
    r = sface.compare(both, cand)
    assert r.n_faces_original == 2 and len(r.per_face) == 2
    by_side = {pf.face.box[0] > astronaut.shape[1]: pf for pf in r.per_face}
    assert by_side[False].same_identity is True  # the astronaut still leaks
    assert by_side[True].same_identity is False
    assert r.similarity == pytest.approx(by_side[False].similarity) and r.same_identity is True


def test_compare_is_deterministic_and_accepts_tensors(sface: SFaceMatcher, astronaut: np.ndarray) -> None:
    cand = noisy(astronaut, 20, seed=3)
    r1 = sface.compare(astronaut, cand)
    r2 = build_matcher("sface").compare(astronaut, cand)
    assert r1 == r2
    t = torch.from_numpy(cand).permute(2, 0, 1).float().div(255)[None]
    r3 = sface.compare(astronaut, t)
    assert r3.similarity == pytest.approx(r1.similarity, abs=1e-6)


def test_get_matcher_caches_per_configuration() -> None:
    assert get_matcher("sface") is get_matcher("sface")
    assert get_matcher("sface", score_threshold=0.8) is not get_matcher("sface")


def test_missing_model_file_is_a_one_line_error(tmp_path) -> None:
    with pytest.raises(MissingWeightsError) as exc:
        SFaceMatcher(recognizer_model=tmp_path / "nope.onnx")
    assert "nope.onnx" in str(exc.value) and "\n" not in str(exc.value)
