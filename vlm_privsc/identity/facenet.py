"""FaceNet identity matcher: facenet-pytorch's InceptionResnetV1 (512-d) with MTCNN crops.

::

    RGB ─► MTCNN (P-Net ─► R-Net ─► O-Net) ─► box + 5 landmarks
                                                │
    any pixel-aligned image ─► crop box (+ margin) ─► 160x160 ─► (x - 127.5) / 128
                                ─► InceptionResnetV1 ─► 512-d ─► L2-normalise

The MTCNN weights ship in the ``facenet-pytorch`` wheel; the recogniser's do not (they are a
GitHub release download, unreachable here), so this backend needs a LOCAL state-dict file:
``20180402-114759-vggface2.pt`` (or ``20180408-102900-casia-webface.pt``), passed as
``weights=PATH`` or ``VLMSC_FACENET_WEIGHTS=PATH``; facenet-pytorch's own download cache
(``$TORCH_HOME/checkpoints/``) is also looked in. Nothing is downloaded, ever.

Crops follow facenet-pytorch's pipeline (box crop, no rotation), which is how those weights
(converted from D. Sandberg's TensorFlow FaceNet) are used.

Threshold: cosine similarity 0.4592 = ``1 - 1.04**2 / 2``, from deepface's Euclidean-L2
threshold 1.04 for "Facenet512" (serengil/deepface ``deepface/config/threshold.py``), which is
the same 20180402-114759 VGGFace2 network. Not measured here (no weights); deepface's
separate *cosine* threshold for it (distance 0.30, similarity 0.70) disagrees, so treat
the decision as indicative and prefer the similarity itself.

References:
    F. Schroff, D. Kalenichenko, J. Philbin, "FaceNet: A Unified Embedding for Face
    Recognition and Clustering", CVPR 2015.
    C. Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual
    Connections on Learning", AAAI 2017.
    K. Zhang, Z. Zhang, Z. Li, Y. Qiao, "Joint Face Detection and Alignment Using
    Multitask Cascaded Convolutional Networks" (MTCNN), IEEE SPL 23, 2016.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from vlm_privsc.errors import ConfigError, MissingWeightsError
from vlm_privsc.identity.base import Face, IdentityMatcher, l2_normalise, sort_largest_first

FACENET_WEIGHTS_ENV = "VLMSC_FACENET_WEIGHTS"
FACENET_WEIGHTS_FILES = ("20180402-114759-vggface2.pt", "20180408-102900-casia-webface.pt")
FACENET_THRESHOLD = 1.0 - 1.04**2 / 2.0  # 0.4592


def _torch_home() -> Path:
    return Path(
        os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")))
    )


def resolve_facenet_weights(weights: str | Path | None = None) -> Path:
    """The weights file to load: ``weights``, else ``$VLMSC_FACENET_WEIGHTS``, else facenet-pytorch's cache."""
    how = f"pass weights=PATH or set {FACENET_WEIGHTS_ENV}=PATH"
    explicit = weights if weights is not None else os.environ.get(FACENET_WEIGHTS_ENV) or None
    if explicit is not None:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise MissingWeightsError(
                f"facenet: weights file {p} does not exist; expected an InceptionResnetV1 state dict "
                f"such as {FACENET_WEIGHTS_FILES[0]} (facenet-pytorch VGGFace2); {how}"
            )
        return p
    for name in FACENET_WEIGHTS_FILES:
        p = _torch_home() / "checkpoints" / name
        if p.is_file():
            return p
    raise MissingWeightsError(
        f"facenet: no weights file; expected {FACENET_WEIGHTS_FILES[0]} (facenet-pytorch VGGFace2 "
        f"InceptionResnetV1 state dict, not downloadable here); {how}"
    )


def load_inception_resnet_v1(path: Path) -> Any:
    """An eval-mode ``InceptionResnetV1`` (embedding head) with the state dict in ``path``."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file is the same user error
        raise ConfigError(f"facenet: cannot read weights file {path}: {type(exc).__name__}: {exc}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConfigError(f"facenet: {path} holds a {type(state).__name__}, not a state dict")
    state = {k: v for k, v in state.items() if not k.startswith("logits.")}  # classifier head unused
    model = InceptionResnetV1(pretrained=None, classify=False)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        bad = (result.missing_keys or result.unexpected_keys)[:3]
        raise ConfigError(
            f"facenet: {path} is not an InceptionResnetV1 state dict "
            f"({len(result.missing_keys)} missing, {len(result.unexpected_keys)} unexpected keys, e.g. {bad})"
        )
    return model.eval()


class FaceNetMatcher(IdentityMatcher):
    """MTCNN + InceptionResnetV1 (facenet-pytorch), weights from a local file.

    Args:
        weights: state-dict file (else ``$VLMSC_FACENET_WEIGHTS``, else facenet-pytorch's cache).
        threshold: cosine similarity for "same identity" (default 0.4592, see module docstring).
        image_size: crop side fed to the network (160, as trained).
        margin: margin around the box in pixels of the crop (facenet-pytorch's convention).
        min_face_size, det_thresholds: MTCNN parameters.
        device: torch device string.
    """

    name = "facenet"
    threshold = FACENET_THRESHOLD  # the default; an instance holds its own
    embedding_dim = 512

    def __init__(
        self,
        weights: str | Path | None = None,
        threshold: float = FACENET_THRESHOLD,
        image_size: int = 160,
        margin: int = 0,
        min_face_size: int = 20,
        det_thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        device: str = "cpu",
    ) -> None:
        path = resolve_facenet_weights(weights)
        import torch
        from facenet_pytorch import MTCNN

        self.threshold = float(threshold)
        self.image_size = int(image_size)
        self.margin = int(margin)
        self.weights_path = path
        self._torch = torch
        self._device = torch.device(device)
        self._mtcnn = MTCNN(
            image_size=self.image_size,
            margin=self.margin,
            min_face_size=min_face_size,
            thresholds=list(det_thresholds),
            keep_all=True,
            post_process=False,
            device=self._device,
        )
        self._net = load_inception_resnet_v1(path).to(self._device)

    @classmethod
    def availability(cls, **_: object) -> tuple[bool, str]:
        if importlib.util.find_spec("facenet_pytorch") is None:
            return False, "facenet-pytorch not installed"
        try:
            resolve_facenet_weights()
        except MissingWeightsError as exc:
            return False, str(exc)
        return True, ""

    def faces(self, image: np.ndarray) -> list[Face]:
        with self._torch.inference_mode():
            boxes, probs, points = self._mtcnn.detect(np.ascontiguousarray(image), landmarks=True)
        if boxes is None:
            return []
        boxes = np.asarray(boxes).astype(np.float64)  # object dtype under numpy 2
        probs = np.asarray(probs).astype(np.float64).reshape(-1)
        points = np.asarray(points).astype(np.float64).reshape(-1, 5, 2)
        out = [
            Face(box=tuple(float(v) for v in b), landmarks=tuple((float(x), float(y)) for x, y in p), score=float(s))  # type: ignore[arg-type]
            for b, s, p in zip(boxes, probs, points)
        ]
        return sort_largest_first(out)

    def crop(self, image: np.ndarray, face: Face) -> Any:
        """The ``[3, S, S]`` float tensor (0-255) the network sees, as facenet-pytorch crops it."""
        from facenet_pytorch.models.utils.detect_face import extract_face

        h, w = image.shape[:2]
        x0, y0, x1, y1 = face.box
        # keep at least one pixel inside the image so a box at the border still crops
        box = np.array([min(max(x0, 0), w - 1), min(max(y0, 0), h - 1), max(x1, x0 + 1), max(y1, y0 + 1)])
        return extract_face(np.ascontiguousarray(image), box, self.image_size, self.margin)

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        x = (self.crop(image, face) - 127.5) / 128.0  # facenet-pytorch's fixed_image_standardization
        with self._torch.inference_mode():
            e = self._net(x.unsqueeze(0).to(self._device))
        return l2_normalise(e[0].cpu().numpy())
