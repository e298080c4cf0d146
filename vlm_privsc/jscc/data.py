"""Training and evaluation data for DeepJSCC (read from the shared data folder).

- CIFAR-10 train images from ``cifar10/cifar10_jpg_full.tar.gz`` (JPEG q75, read straight
  from the tarball, nothing extracted into the repository; a decoded uint8 cache goes
  to the system temp folder) plus the lossless ``x_train`` of ``cifar10_partial.npz``;
- random crops (at several scales) of larger photos (faces, CelebA, cars with plates,
  text pages) so that the model also sees full-photo statistics;
- real photos for the high-resolution codec (``resjscc``): BSDS500 train + test and the face
  sets, random crops of 64-256 px (:class:`CropSampler`);
- evaluation: the lossless ``x_test`` of ``cifar10_partial.npz`` and Kodak (never trained on).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, overload

import numpy as np
from PIL import Image, ImageOps

from vlm_privsc.errors import InputError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
PHOTO_FOLDERS = ("faces_deepface", "celeba_sample/img_align_celeba", "plates_us", "text_images")
REAL_PHOTO_FOLDERS = ("bsds500/train", "bsds500/test", "faces_deepface", "faces_orl")  # never kodak24
CIFAR_TAR = "cifar10/cifar10_jpg_full.tar.gz"
CIFAR_NPZ = "cifar10/cifar10_partial.npz"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def default_data_dir() -> Path | None:
    """``../shared/data`` beside the repository root (or cwd), when it exists."""
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        cand = base.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return None


def resolve_data_dir(data: str | os.PathLike[str] | None) -> Path:
    if data is None:
        d = default_data_dir()
        if d is None:
            raise InputError("no data folder given and ../shared/data does not exist; pass --data DIR")
        return d
    p = Path(data)
    if not p.is_dir():
        raise InputError(f"data folder {p} does not exist")
    return p


def load_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file -> uint8 ``[H, W, 3]`` (EXIF orientation applied; grey/alpha -> RGB)."""
    try:
        with Image.open(path) as f:
            im = ImageOps.exif_transpose(f)
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from None


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly in ``folder`` or below it, sorted."""
    p = Path(folder)
    if not p.is_dir():
        raise InputError(f"image folder {p} does not exist")
    return sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_EXTS and f.is_file())


def _cache_dir() -> Path:
    d = Path(tempfile.gettempdir()) / "vlmsc_cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


def load_cifar_jpeg_train(data_dir: Path, split: str = "train") -> np.ndarray:
    """All CIFAR-10 JPEGs of ``split`` from the tarball -> uint8 ``[N, 32, 32, 3]`` (cached in /tmp)."""
    tar_path = data_dir / CIFAR_TAR
    if not tar_path.is_file():
        raise InputError(f"CIFAR-10 tarball not found: {tar_path}")
    st = tar_path.stat()
    key = hashlib.sha1(f"{tar_path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{split}".encode()).hexdigest()[:12]
    cache = _cache_dir() / f"cifar10_{split}_{key}.npy"
    if cache.is_file():
        return np.load(cache)
    items: list[tuple[str, np.ndarray]] = []
    with tarfile.open(tar_path, "r:gz") as tf:
        for m in tf:
            parts = m.name.split("/")
            if not m.isfile() or split not in parts or not m.name.lower().endswith((".jpg", ".png")):
                continue
            f = tf.extractfile(m)
            if f is None:
                continue
            with Image.open(io.BytesIO(f.read())) as im:
                items.append((m.name, np.asarray(im.convert("RGB"), dtype=np.uint8)))
    if not items:
        raise InputError(f"no {split} images found in {tar_path}")
    items.sort(key=lambda t: t[0])
    arr = np.stack([a for _, a in items])
    np.save(cache, arr)
    return arr


def load_cifar_jpeg_labels(data_dir: Path, split: str = "train") -> np.ndarray:
    """Class index (``CIFAR10_CLASSES`` order) of each image of :func:`load_cifar_jpeg_train`,
    read from the tarball's ``<split>/<class>/`` folders in the same sorted order."""
    tar_path = data_dir / CIFAR_TAR
    if not tar_path.is_file():
        raise InputError(f"CIFAR-10 tarball not found: {tar_path}")
    names: list[str] = []
    with tarfile.open(tar_path, "r:gz") as tf:
        for m in tf:
            parts = m.name.split("/")
            if m.isfile() and split in parts and m.name.lower().endswith((".jpg", ".png")):
                names.append(m.name)
    names.sort()
    labels = []
    for n in names:
        folder = n.split("/")[-2]
        if folder not in CIFAR10_CLASSES:
            raise InputError(f"{tar_path}: unknown CIFAR-10 class folder {folder!r} in {n}")
        labels.append(CIFAR10_CLASSES.index(folder))
    return np.asarray(labels, dtype=np.int64)


@overload
def load_cifar_lossless(data_dir: Path, split: str = ..., labels: Literal[False] = ...) -> np.ndarray: ...
@overload
def load_cifar_lossless(data_dir: Path, split: str, labels: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def load_cifar_lossless(
    data_dir: Path, split: str = ..., *, labels: Literal[True]
) -> tuple[np.ndarray, np.ndarray]: ...


def load_cifar_lossless(
    data_dir: Path, split: str = "test", labels: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Lossless CIFAR-10 subset (``x_train`` / ``x_test`` of cifar10_partial.npz), uint8 NHWC;
    with ``labels=True`` also the class indices (``y_train`` / ``y_test``)."""
    path = data_dir / CIFAR_NPZ
    if not path.is_file():
        raise InputError(f"lossless CIFAR-10 subset not found: {path}")
    with np.load(path) as z:
        key = f"x_{split}"
        if key not in z or (labels and f"y_{split}" not in z):
            raise InputError(f"{path} has no {key}" + (f" / y_{split}" if labels else ""))
        x = np.asarray(z[key], dtype=np.uint8)
        if labels:
            return x, np.asarray(z[f"y_{split}"], dtype=np.int64)
        return x


def _readable_photos(data_dir: Path, folders: Iterable[str]) -> Iterator[np.ndarray]:
    """Every readable image (uint8 HWC) of the ``folders`` that exist under ``data_dir``."""
    for name in folders:
        d = data_dir / name
        if not d.is_dir():
            continue
        for f in list_images(d):
            try:
                yield load_rgb(f)
            except InputError:
                continue


def load_photos(
    data_dir: Path,
    folders: Iterable[str] = PHOTO_FOLDERS,
    min_side: int = 32,
    scales: Sequence[float] = (1.0, 0.5, 0.25),
) -> list[np.ndarray]:
    """Photos from ``folders`` of the data dir, each at several scales (uint8 HWC)."""
    out: list[np.ndarray] = []
    for img in _readable_photos(data_dir, folders):
        h, w = img.shape[:2]
        for s in scales:
            hs, ws = int(round(h * s)), int(round(w * s))
            if min(hs, ws) < min_side:
                continue
            im = img if s == 1.0 else np.asarray(Image.fromarray(img).resize((ws, hs), Image.Resampling.BICUBIC))
            out.append(im)
    return out


class PatchSampler:
    """Random training batches: CIFAR images and random crops of photos (uint8 NHWC).

    ``photo_fraction`` of each batch comes from photo crops; everything is flipped
    horizontally at random. Deterministic given ``rng``.
    """

    def __init__(
        self, cifar: np.ndarray, photos: Sequence[np.ndarray] = (), photo_fraction: float = 0.25, crop: int = 32
    ) -> None:
        if len(cifar) == 0 and not photos:
            raise InputError("no training images")
        self.cifar = cifar
        self.photos = [p for p in photos if p.shape[0] >= crop and p.shape[1] >= crop]
        self.photo_fraction = photo_fraction if self.photos else 0.0
        if len(cifar) == 0:
            self.photo_fraction = 1.0
        self.crop = crop
        if crop != 32 and len(cifar):
            raise InputError("CIFAR images are 32x32: use crop=32")
        sizes = np.array([p.shape[0] * p.shape[1] for p in self.photos], dtype=np.float64)
        self._pw = sizes / sizes.sum() if len(sizes) else sizes

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        n_ph = int(round(batch * self.photo_fraction))
        n_c = batch - n_ph
        parts = []
        if n_c:
            parts.append(self.cifar[rng.integers(0, len(self.cifar), n_c)])
        if n_ph:
            c = self.crop
            idx = rng.choice(len(self.photos), size=n_ph, p=self._pw)
            crops = []
            for i in idx:
                p = self.photos[i]
                y = int(rng.integers(0, p.shape[0] - c + 1))
                x = int(rng.integers(0, p.shape[1] - c + 1))
                crops.append(p[y : y + c, x : x + c])
            parts.append(np.stack(crops))
        out = np.concatenate(parts)
        flip = rng.random(batch) < 0.5
        out[flip] = out[flip, :, ::-1]
        return out[rng.permutation(batch)]


def load_real_photos(
    data_dir: Path,
    folders: Iterable[str] = REAL_PHOTO_FOLDERS,
    max_side: int = 768,
    scales: Sequence[float] = (1.0, 0.5),
    min_side: int = 64,
) -> list[np.ndarray]:
    """Photos for crop training: each shrunk to at most ``max_side`` px, at ``scales`` (uint8 HWC)."""
    out: list[np.ndarray] = []
    for img in _readable_photos(data_dir, folders):
        pil = Image.fromarray(img)
        if max(img.shape[:2]) > max_side:
            s0 = max_side / max(img.shape[:2])
            pil = pil.resize((round(img.shape[1] * s0), round(img.shape[0] * s0)), Image.Resampling.LANCZOS)
        for s in scales:
            w, h = round(pil.width * s), round(pil.height * s)
            if min(w, h) < min_side:
                continue
            out.append(np.asarray(pil if s == 1.0 else pil.resize((w, h), Image.Resampling.LANCZOS)))
    return out


class CropSampler:
    """Batches of random square photo crops, side ``sizes`` (64-256 px), or of CIFAR images.

    Each batch has about ``pixels`` pixels: side ``s`` gives ``pixels // s**2`` crops (at least 1),
    CIFAR batches ``pixels // 1024`` images. A ``cifar_fraction`` of the batches are CIFAR ones.
    Crops come from photos whose shorter side is at least ``s``, chosen by area; all flipped
    left-right at random. Deterministic given ``rng``.
    """

    def __init__(
        self,
        photos: Sequence[np.ndarray],
        cifar: np.ndarray | None = None,
        pixels: int = 131_072,
        sizes: Sequence[int] = (64, 96, 128, 160, 192, 224, 256),
        cifar_fraction: float = 0.15,
    ) -> None:
        self.photos = [p for p in photos if min(p.shape[:2]) >= min(sizes)]
        if not self.photos:
            raise InputError(f"no training photo is at least {min(sizes)} px on its shorter side")
        self.cifar = cifar if cifar is not None and len(cifar) else None
        self.cifar_fraction = cifar_fraction if self.cifar is not None else 0.0
        self.pixels = int(pixels)
        self.sizes = tuple(int(s) for s in sizes)
        self._short = np.array([min(p.shape[:2]) for p in self.photos])
        self._area = np.array([p.shape[0] * p.shape[1] for p in self.photos], dtype=np.float64)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        if self.cifar is not None and rng.random() < self.cifar_fraction:
            out = self.cifar[rng.integers(0, len(self.cifar), max(1, self.pixels // 1024))].copy()
        else:
            s = int(self.sizes[rng.integers(0, len(self.sizes))])
            ok = np.flatnonzero(self._short >= s)
            if len(ok) == 0:
                ok = np.flatnonzero(self._short == self._short.max())
                s = int(self._short.max())
            n = max(1, self.pixels // (s * s))
            idx = rng.choice(ok, size=n, p=self._area[ok] / self._area[ok].sum())
            crops = []
            for i in idx:
                p = self.photos[i]
                y = int(rng.integers(0, p.shape[0] - s + 1))
                x = int(rng.integers(0, p.shape[1] - s + 1))
                crops.append(p[y : y + s, x : x + s])
            out = np.stack(crops)
        flip = rng.random(len(out)) < 0.5
        out[flip] = out[flip, :, ::-1]
        return out
