"""FaceNet matcher: the weights-file path, tested with randomly initialised weights.

Real VGGFace2 weights cannot be downloaded here, so these tests check the loading path,
the error messages, shapes and determinism, never recognition quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.identity import FaceNetMatcher, build_matcher
from vlm_privsc.identity.facenet import FACENET_THRESHOLD, FACENET_WEIGHTS_ENV

pytest.importorskip("facenet_pytorch")


@pytest.fixture(autouse=True)
def _no_ambient_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No env var and an empty TORCH_HOME: only explicit files count."""
    monkeypatch.delenv(FACENET_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random InceptionResnetV1 state dict with a VGGFace2-sized classifier head (ignored on load)."""
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    net = InceptionResnetV1(pretrained=None, classify=True, num_classes=8631)
    path = tmp_path_factory.mktemp("facenet") / "20180402-114759-vggface2.pt"
    torch.save(net.state_dict(), path)
    return path


def test_missing_weights_names_the_file_and_how_to_pass_it() -> None:
    with pytest.raises(MissingWeightsError) as exc:
        build_matcher("facenet")
    msg = str(exc.value)
    assert "\n" not in msg
    assert "20180402-114759-vggface2.pt" in msg and "weights=" in msg and FACENET_WEIGHTS_ENV in msg
    ok, why = FaceNetMatcher.availability()
    assert not ok and "20180402-114759-vggface2.pt" in why


def test_nonexistent_explicit_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match="nowhere.pt does not exist"):
        FaceNetMatcher(weights=tmp_path / "nowhere.pt")


def test_wrong_state_dict_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.pt"
    torch.save({"conv.weight": torch.zeros(3)}, p)
    with pytest.raises(ConfigError, match="not an InceptionResnetV1 state dict"):
        FaceNetMatcher(weights=p)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot read weights file"):
        FaceNetMatcher(weights=junk)


@pytest.fixture(scope="module")
def facenet(random_weights: Path) -> FaceNetMatcher:
    return FaceNetMatcher(weights=random_weights)


@pytest.fixture(scope="module")
def face_crop(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut's upper-left 256x256 region (her face at x 178-268, y 62-176): MTCNN is costly on CPU."""
    return np.ascontiguousarray(astronaut[:256, 100:356])


def test_loads_random_weights_and_embeds(facenet: FaceNetMatcher, face_crop: np.ndarray) -> None:
    astronaut = face_crop
    assert facenet.threshold == pytest.approx(FACENET_THRESHOLD) == pytest.approx(0.4592)
    faces = facenet.faces(astronaut)  # MTCNN weights ship in the wheel: real detections
    assert len(faces) >= 1
    x0, y0, x1, y1 = faces[0].box
    assert 50 < x0 < x1 < 190 and 30 < y0 < y1 < 200
    assert len(faces[0].landmarks) == 5
    crop = facenet.crop(astronaut, faces[0])
    assert tuple(crop.shape) == (3, 160, 160)
    e = facenet.embed(astronaut, faces[0])
    assert e.shape == (512,) and np.linalg.norm(e) == pytest.approx(1.0, abs=1e-5)


def test_env_var_path_and_determinism(
    random_weights: Path, facenet: FaceNetMatcher, face_crop: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    astronaut = face_crop
    monkeypatch.setenv(FACENET_WEIGHTS_ENV, str(random_weights))
    m2 = build_matcher("facenet")
    assert m2.weights_path == random_weights  # type: ignore[attr-defined]
    f = facenet.faces(astronaut)[0]
    np.testing.assert_array_equal(facenet.embed(astronaut, f), m2.embed(astronaut, f))
    r = facenet.compare(astronaut, astronaut)
    assert r.similarity == pytest.approx(1.0, abs=1e-5) and r.backend == "facenet"
    assert facenet.compare(np.full((48, 48, 3), 255, np.uint8), np.zeros((48, 48, 3), np.uint8)).n_faces_original == 0
