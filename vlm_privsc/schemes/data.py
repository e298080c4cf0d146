"""Data for the scheme reproductions: MNIST, CIFAR-10 (from ``../shared/data``) or synthetic.

- MNIST: the IDX gz files of ``mnist/`` (60k train, 10k test, 28x28 grey -> NHW uint8);
- CIFAR-10: training images are the 50k JPEG q75 files of
  ``cifar10/cifar10_jpg_full.tar.gz`` (decoded once into a cache in the system temp
  folder by :func:`vlm_privsc.jscc.data.load_cifar_jpeg_train`, never into the
  repository); their labels follow from the sorted ``train/<class>/`` folders, whose
  alphabetical order is CIFAR-10's label order. Test images are the 1,017 *lossless*
  ``x_test`` of ``cifar10_partial.npz`` (honest PSNR; JPEG itself is only 30.5 dB);
- synthetic: class-dependent random patterns (learnable, so ``--quick`` runs exercise
  real training) when the data folder is missing.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vlm_privsc.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass(frozen=True)
class Split:
    """Train and test arrays (uint8 NHWC, or NHW for grey) with integer labels."""

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    synthetic: bool = False
    note: str = ""

    @property
    def channels(self) -> int:
        return 1 if self.x_train.ndim == 3 else int(self.x_train.shape[-1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Split:
        """A random subset (seeded) of the train and/or test parts."""
        rng = np.random.default_rng(seed)
        xtr, ytr, xte, yte = self.x_train, self.y_train, self.x_test, self.y_test
        if n_train is not None and n_train < len(xtr):
            i = np.sort(rng.choice(len(xtr), n_train, replace=False))
            xtr, ytr = xtr[i], ytr[i]
        if n_test is not None and n_test < len(xte):
            i = np.sort(rng.choice(len(xte), n_test, replace=False))
            xte, yte = xte[i], yte[i]
        return Split(self.name, xtr, ytr, xte, yte, self.synthetic, self.note)


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(data_dir: Path) -> Split:
    """MNIST from ``data_dir/mnist`` (IDX gz)."""
    d = Path(data_dir) / "mnist"
    names = (
        "train-images.idx3-ubyte.gz",
        "train-labels.idx1-ubyte.gz",
        "t10k-images.idx3-ubyte.gz",
        "t10k-labels.idx1-ubyte.gz",
    )
    missing = [n for n in names if not (d / n).is_file()]
    if missing:
        raise InputError(f"MNIST files missing in {d}: {', '.join(missing)}")
    xtr, ytr, xte, yte = (_idx(d / n) for n in names)
    return Split("mnist", xtr, ytr.astype(np.int64), xte, yte.astype(np.int64), note="MNIST 60k/10k")


def load_cifar10(data_dir: Path) -> Split:
    """CIFAR-10: 50k JPEG train images (labels from folders), 1,017 lossless test images."""
    from vlm_privsc.jscc.data import CIFAR_NPZ, load_cifar_jpeg_train

    data_dir = Path(data_dir)
    xtr = load_cifar_jpeg_train(data_dir, "train")
    if len(xtr) != 50_000:
        raise InputError(f"expected 50,000 CIFAR-10 training JPEGs, found {len(xtr)}")
    ytr = np.repeat(np.arange(10, dtype=np.int64), 5000)  # sorted train/<class>/ folders
    npz = data_dir / CIFAR_NPZ
    if not npz.is_file():
        raise InputError(f"lossless CIFAR-10 subset not found: {npz}")
    with np.load(npz) as z:
        xte, yte = np.asarray(z["x_test"]), np.asarray(z["y_test"]).astype(np.int64)
    return Split(
        "cifar10",
        xtr,
        ytr,
        xte,
        yte,
        note="train: 50k JPEG q75 (tarball); test: 1,017 lossless x_test of cifar10_partial.npz",
    )


def synthetic(
    name: str = "synthetic",
    n_train: int = 256,
    n_test: int = 64,
    size: int = 32,
    channels: int = 3,
    classes: int = 10,
    seed: int = 0,
) -> Split:
    """Class-dependent smooth random patterns plus noise (uint8), learnable in a few steps."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 1, (classes, 4, 4, channels))
    reps = size // 4
    protos = np.kron(base, np.ones((1, reps, reps, 1)))  # [C, size, size, ch] blocky class prototypes

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, classes, n)
        x = 0.7 * protos[y] + 0.3 * rng.uniform(0, 1, (n, size, size, channels))
        x = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
        return (x[..., 0] if channels == 1 else x), y.astype(np.int64)

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return Split(name, xtr, ytr, xte, yte, synthetic=True, note="synthetic class patterns (no data folder)")


def load_dataset(name: str, data_dir: Path | None, *, quick: bool = False, seed: int = 0) -> Split:
    """``mnist`` or ``cifar10`` from ``data_dir``; a synthetic stand-in when ``quick`` and the
    folder (or the files) are missing. Without ``quick`` missing data is an error."""
    size, ch = (28, 1) if name == "mnist" else (32, 3)
    if name not in ("mnist", "cifar10"):
        raise InputError(f"unknown dataset {name!r}; valid: mnist, cifar10")
    if data_dir is None or not Path(data_dir).is_dir():
        if quick:
            return synthetic(name, size=size, channels=ch, seed=seed)
        raise InputError(f"data folder {data_dir} does not exist; pass --data DIR (or --quick for synthetic data)")
    try:
        return load_mnist(Path(data_dir)) if name == "mnist" else load_cifar10(Path(data_dir))
    except InputError:
        if quick:
            return synthetic(name, size=size, channels=ch, seed=seed)
        raise
