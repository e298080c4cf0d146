"""Where the hub backends' weights come from: a local path, a weights folder, the HF cache.

Nothing here downloads unless the user asks for it. A backend names its weights by a
hub id (``google/owlv2-base-patch16-ensemble``) or a file name (``sam_vit_b_01ec64.pth``)
and :func:`resolve_folder` / :func:`resolve_file` look, in this order, at:

1. an explicit path (``params.model=/path/to/folder`` or ``params.checkpoint=/path/file``);
2. every weights folder (``--weights-dir DIR`` via :func:`set_weights_dir`, then the
   ``VLMSC_WEIGHTS_DIR`` environment variable, ``os.pathsep``-separated), as
   ``DIR/<org>/<name>``, ``DIR/<name>``, ``DIR/<file>`` or a copied HF cache
   (``DIR/models--<org>--<name>/snapshots/...``);
3. the Hugging Face hub cache (``HF_HUB_CACHE`` / ``HF_HOME``; ``huggingface_hub`` with
   ``local_files_only=True``), i.e. whatever ``huggingface-cli download`` left there;
4. only when downloads are allowed (``VLMSC_ALLOW_DOWNLOAD=1`` or
   :func:`set_allow_download`, and ``HF_HUB_OFFLINE`` unset): the hub id itself, which
   the loading library then downloads.

Otherwise a :class:`~vlm_privsc.errors.MissingWeightsError` says, in one line, which id
or file is missing and how to provide it. There is never a silent fallback to another
model. Loaded models are cached per process (:func:`cached`), so Bob and Eve share one
Stable Diffusion pipeline and every category shares one detector.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from vlm_privsc.errors import InputError, MissingWeightsError

T = TypeVar("T")

ENV_WEIGHTS_DIR = "VLMSC_WEIGHTS_DIR"
ENV_ALLOW_DOWNLOAD = "VLMSC_ALLOW_DOWNLOAD"

#: Files whose presence marks a usable model folder, by kind.
MARKERS: dict[str, tuple[str, ...]] = {
    "transformers": ("config.json",),
    "diffusers": ("model_index.json",),
    "open_clip": ("open_clip_config.json",),
}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".msgpack", ".h5")
_TRUE = {"1", "true", "yes", "on"}


# --- settings -------------------------------------------------------------------------
def set_weights_dir(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None) -> None:
    """``--weights-dir``: folders searched first for every hub backend's weights.

    Stored in the ``VLMSC_WEIGHTS_DIR`` environment variable (prepended to what was there),
    so worker processes started afterwards see it too. ``None`` clears it.
    """
    if path is None:
        os.environ.pop(ENV_WEIGHTS_DIR, None)
        return
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    new = [str(Path(p).expanduser()) for p in paths]
    for p in new:
        if not Path(p).is_dir():
            raise InputError(f"--weights-dir {p!r} is not a folder")
    old = [p for p in os.environ.get(ENV_WEIGHTS_DIR, "").split(os.pathsep) if p and p not in new]
    os.environ[ENV_WEIGHTS_DIR] = os.pathsep.join(new + old)


def weights_dirs() -> list[Path]:
    """The weights folders, in search order (``--weights-dir`` first, then the environment)."""
    out: list[Path] = []
    for p in os.environ.get(ENV_WEIGHTS_DIR, "").split(os.pathsep):
        if p and Path(p).expanduser() not in out:
            out.append(Path(p).expanduser())
    return out


def set_allow_download(allow: bool) -> None:
    """Allow (or forbid) hub downloads for weights missing locally (``VLMSC_ALLOW_DOWNLOAD``)."""
    os.environ[ENV_ALLOW_DOWNLOAD] = "1" if allow else "0"


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def download_allowed() -> bool:
    """Downloads need an explicit opt-in and no ``HF_HUB_OFFLINE``."""
    return os.environ.get(ENV_ALLOW_DOWNLOAD, "").strip().lower() in _TRUE and not hub_offline()


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub"


# --- small helpers --------------------------------------------------------------------
def has_module(module: str) -> bool:
    """Whether ``module`` is importable, without importing it (keeps ``vlmsc`` start-up fast)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, pip_name: str, backend: str) -> Any:
    """Import ``module`` (lazily, at load time) or raise one line naming the pip package."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingWeightsError(
            f"{backend}: needs the Python package {pip_name!r} (pip install {pip_name}, "
            f"or pip install 'vlm-privsc[hub]'): {exc}"
        ) from None


def missing_packages(packages: Iterable[tuple[str, str]]) -> list[str]:
    """pip names of the ``(module, pip_name)`` pairs that are not importable."""
    return [pip for mod, pip in packages if not has_module(mod)]


def looks_like_path(s: str) -> bool:
    """A string meant as a filesystem path rather than a hub id or a bare file name."""
    return (
        s.startswith(("/", "./", "../", "~", ".\\"))
        or "\\" in s
        or (len(s) > 1 and s[1] == ":")
        or Path(s).expanduser().exists()
    )


def _has_weights(folder: Path) -> bool:
    for p in folder.rglob("*"):
        if p.suffix in _WEIGHT_SUFFIXES and (p.is_file() or p.is_symlink()):
            return True
    return False


def _is_model_folder(folder: Path, kind: str) -> bool:
    markers = MARKERS.get(kind, ())
    return folder.is_dir() and all((folder / m).is_file() for m in markers) and _has_weights(folder)


def hf_snapshot(repo_id: str, cache_dir: Path | None, revision: str | None) -> Path | None:
    """The cached snapshot folder of ``repo_id`` (no network), or None."""
    if "/" not in repo_id or looks_like_path(repo_id):
        return None
    root = cache_dir if cache_dir is not None else hf_cache_dir()
    if not (root / ("models--" + repo_id.replace("/", "--"))).is_dir():
        return None  # fast path: nothing cached for this repo
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, revision=revision, cache_dir=str(root), local_files_only=True))
    except Exception:  # LocalEntryNotFoundError, bad revision, missing refs: not cached
        return None


def hf_cached_file(repo_id: str, filename: str, cache_dir: Path | None, revision: str | None) -> Path | None:
    root = cache_dir if cache_dir is not None else hf_cache_dir()
    if not (root / ("models--" + repo_id.replace("/", "--"))).is_dir():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, filename, cache_dir=str(root), revision=revision)
    except Exception:
        return None
    return Path(hit) if isinstance(hit, str) and Path(hit).is_file() else None


def where_searched() -> str:
    dirs = weights_dirs()
    wd = ", ".join(str(d) for d in dirs) if dirs else "not set"
    return f"--weights-dir/{ENV_WEIGHTS_DIR}: {wd}; HF cache: {hf_cache_dir()}"


# --- resolution -----------------------------------------------------------------------
def resolve_folder(
    model: str | os.PathLike[str],
    *,
    backend: str,
    kind: str = "transformers",
    param: str = "model",
    revision: str | None = None,
) -> Path | str:
    """A model folder (``kind``: transformers | diffusers | open_clip) for ``model``.

    ``model`` is a folder path or a hub id. Returns a local :class:`Path`, or the hub id
    itself when it is not found locally and downloads are allowed. Raises
    :class:`MissingWeightsError` (one line) otherwise.
    """
    s = str(model)
    marker = " + ".join(MARKERS.get(kind, ())) or "weights"
    if looks_like_path(s) or not ("/" in s and s.count("/") == 1):
        p = Path(s).expanduser()
        if p.is_dir():
            if _is_model_folder(p, kind):
                return p.resolve()
            raise MissingWeightsError(
                f"{backend}: {str(p)!r} is not a {kind} model folder (it needs {marker} and a weights file); "
                f"pass params.{param}=<folder saved with save_pretrained>"
            )
        if looks_like_path(s):
            raise MissingWeightsError(f"{backend}: model folder {s!r} (params.{param}) does not exist")
        # a bare name: look for it in the weights folders only
        for d in weights_dirs():
            if _is_model_folder(d / s, kind):
                return (d / s).resolve()
        raise MissingWeightsError(
            f"{backend}: model {s!r} not found in the weights folders ({where_searched()}); "
            f"put its folder at DIR/{s} and pass --weights-dir DIR (or set {ENV_WEIGHTS_DIR}), "
            f"or pass params.{param}=/path/to/folder"
        )
    repo_id = s
    org, name = repo_id.split("/")
    for d in weights_dirs():
        for cand in (d / org / name, d / name, d / repo_id.replace("/", "--")):
            if _is_model_folder(cand, kind):
                return cand.resolve()
        snap = hf_snapshot(repo_id, d, revision)
        if snap is not None and _is_model_folder(snap, kind):
            return snap
    snap = hf_snapshot(repo_id, None, revision)
    if snap is not None and _is_model_folder(snap, kind):
        return snap
    if download_allowed():
        return repo_id
    why = "HF_HUB_OFFLINE is set" if hub_offline() else f"downloads are off; set {ENV_ALLOW_DOWNLOAD}=1 to allow"
    raise MissingWeightsError(
        f"{backend}: weights {repo_id!r} not found locally ({where_searched()}; {why}); "
        f"put the model folder in --weights-dir DIR or {ENV_WEIGHTS_DIR} (as DIR/{repo_id} or DIR/{name}, "
        f"or `huggingface-cli download {repo_id} --cache-dir DIR`), or pass params.{param}=/path/to/folder"
    )


def resolve_file(
    file: str | os.PathLike[str],
    *,
    backend: str,
    param: str = "checkpoint",
    hub: Sequence[tuple[str, str]] = (),
    extra_dirs: Sequence[Path] = (),
    url: str | None = None,
) -> Path:
    """A single weights file: an explicit path, or a file name looked up in the weights
    folders, ``extra_dirs`` (e.g. torch hub's checkpoints folder) and the HF cache
    (``hub``: ``(repo_id, filename)`` pairs). Files are never downloaded here; ``url``
    only goes into the error message."""
    s = str(file)
    p = Path(s).expanduser()
    if looks_like_path(s):
        if p.is_file():
            return p.resolve()
        raise MissingWeightsError(f"{backend}: weights file {s!r} (params.{param}) does not exist")
    for d in [*weights_dirs(), *extra_dirs]:
        for cand in (d / s, d / "checkpoints" / s):
            if cand.is_file():
                return cand.resolve()
    for d in weights_dirs():
        for repo_id, fname in hub:
            hit = hf_cached_file(repo_id, fname, d, None)
            if hit is not None:
                return hit
    for repo_id, fname in hub:
        hit = hf_cached_file(repo_id, fname, None, None)
        if hit is not None:
            return hit
    where = where_searched()
    if extra_dirs:
        where += "; " + ", ".join(str(d) for d in extra_dirs)
    get = f"download it from {url} into" if url else "put it in"
    raise MissingWeightsError(
        f"{backend}: weights file {s!r} not found locally ({where}); {get} --weights-dir DIR "
        f"or {ENV_WEIGHTS_DIR}, or pass params.{param}=/path/to/{s}"
    )


# --- per-process caches ---------------------------------------------------------------
_CACHE: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def cached(key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """``load()`` once per process for ``key`` (models are shared by every user of a key)."""
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = load()
    with _LOCK:
        return _CACHE.setdefault(key, value)


def clear_cache() -> None:
    """Forget every loaded hub model (tests; freeing GPU memory)."""
    with _LOCK:
        _CACHE.clear()


def image_key(image: Any) -> str:
    """A content hash of an image array (per-image feature caches)."""
    import numpy as np

    a = np.ascontiguousarray(image)
    h = hashlib.blake2b(a.data, digest_size=16)
    h.update(str((a.shape, a.dtype.str)).encode())
    return h.hexdigest()


def load_error(backend: str, where: Path | str, exc: BaseException) -> InputError:
    """One line for a folder/file that exists but cannot be loaded."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{backend}: cannot load weights from {str(where)!r}: {type(exc).__name__}: {msg[:300]}")
