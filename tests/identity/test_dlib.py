"""dlib ResNet matcher (skipped where dlib / face_recognition_models are not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.identity.conftest import jpeg, mask_box, noisy
from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.identity import DlibMatcher, build_matcher

pytest.importorskip("dlib")
if not DlibMatcher.availability()[0]:  # pragma: no cover - depends on the machine
    pytest.skip(DlibMatcher.availability()[1], allow_module_level=True)


@pytest.fixture(scope="module")
def dlib_m() -> DlibMatcher:
    m = build_matcher("dlib")
    assert isinstance(m, DlibMatcher)
    return m


def test_threshold_is_dlibs_0_6_on_the_cosine_scale(dlib_m: DlibMatcher) -> None:
    assert dlib_m.threshold == pytest.approx(1 - 0.4**2 / 2)


def test_self_match_and_different_people(dlib_m: DlibMatcher, astronaut: np.ndarray, grace_hopper: np.ndarray) -> None:
    faces = dlib_m.faces(astronaut)
    assert len(faces) == 1 and len(faces[0].landmarks) == 5  # HOG's weak false positives are dropped
    r = dlib_m.compare(astronaut, jpeg(astronaut, 30))
    assert r.same_identity is True and r.similarity > 0.98
    a, g = dlib_m.embed_largest(astronaut), dlib_m.embed_largest(grace_hopper)
    assert a is not None and g is not None and a.shape == (128,)
    assert not dlib_m.is_same(dlib_m.similarity(a, g))
    # dlib's own rule on raw descriptors agrees: distance > 0.6
    fa, fg = dlib_m.faces(astronaut)[0], dlib_m.faces(grace_hopper)[0]
    raw_a, raw_g = dlib_m.descriptor(astronaut, fa), dlib_m.descriptor(grace_hopper, fg)
    assert np.linalg.norm(raw_a - raw_g) > 0.6 and np.linalg.norm(raw_a) > 1.0


def test_masked_face_is_different_and_blank_has_no_face(dlib_m: DlibMatcher, astronaut: np.ndarray) -> None:
    r = dlib_m.compare(astronaut, mask_box(astronaut, dlib_m.faces(astronaut)[0].box))
    assert r.same_identity is False and r.face_found_in_candidate is False
    assert dlib_m.faces(np.full((200, 200, 3), 255, np.uint8)) == []


def test_undetectable_candidate_still_compared(dlib_m: DlibMatcher, astronaut: np.ndarray) -> None:
    r = dlib_m.compare(astronaut, noisy(astronaut, 60, seed=0))  # HOG misses it
    assert r.face_found_in_candidate is False and r.similarity is not None


def test_deterministic(dlib_m: DlibMatcher, astronaut: np.ndarray) -> None:
    cand = noisy(astronaut, 15)
    assert dlib_m.compare(astronaut, cand) == dlib_m.compare(astronaut, cand)


def test_yunet_detector_option_and_bad_options(astronaut: np.ndarray, tmp_path) -> None:
    m = DlibMatcher(detector="yunet")
    assert len(m.faces(astronaut)) == 1
    with pytest.raises(ConfigError, match="valid: hog, cnn, yunet"):
        DlibMatcher(detector="mtcnn")
    with pytest.raises(MissingWeightsError, match="shape_predictor_5_face_landmarks.dat"):
        DlibMatcher(models_dir=tmp_path)
