from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vlm_privsc.errors import InputError
from vlm_privsc.io import atomic_write_bytes, load_image, load_rgb, save_png, to_tensor, to_uint8


def _grad(h: int = 24, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], axis=2).astype(np.uint8)


def test_roundtrip_tensor_uint8():
    a = _grad()
    t = to_tensor(a)
    assert t.shape == (1, 3, 24, 32) and t.dtype == torch.float32
    assert 0 <= float(t.min()) and float(t.max()) <= 1
    assert np.array_equal(to_uint8(t), a)


def test_png_roundtrip_is_lossless(tmp_path: Path):
    a = _grad()
    p = save_png(a, tmp_path / "x.png")
    arr, li = load_rgb(p)
    assert np.array_equal(arr, a)
    assert li.size == (24, 32)


def test_exif_orientation_is_applied(tmp_path: Path):
    a = _grad(20, 40)  # landscape pixels
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW to display
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif, quality=95)
    li = load_image(p)
    assert li.size == (40, 20)
    assert li.exif_transposed


def test_grey_palette_rgba_16bit(tmp_path: Path):
    g = (np.arange(16 * 16).reshape(16, 16) % 256).astype(np.uint8)
    Image.fromarray(g, mode="L").save(tmp_path / "g.png")
    arr, li = load_rgb(tmp_path / "g.png")
    assert arr.shape == (16, 16, 3) and np.array_equal(arr[..., 0], g) and np.array_equal(arr[..., 2], g)

    Image.fromarray(_grad(16, 16)).convert("P").save(tmp_path / "p.png")
    arr, _ = load_rgb(tmp_path / "p.png")
    assert arr.shape == (16, 16, 3)

    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:8, :, 3] = 255  # top opaque red, bottom transparent -> white
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    arr, li = load_rgb(tmp_path / "a.png")
    assert li.had_alpha
    assert tuple(arr[0, 0]) == (200, 0, 0) and tuple(arr[15, 15]) == (255, 255, 255)

    g16 = (np.arange(16 * 16).reshape(16, 16) * 256).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    arr, _ = load_rgb(tmp_path / "g16.png")
    assert arr.dtype == np.uint8 and arr.max() > 200 and arr.min() == 0

    import cv2

    c16 = np.zeros((16, 16, 3), np.uint16)
    c16[..., 2] = 65535  # BGR: red channel full
    cv2.imwrite(str(tmp_path / "c16.png"), c16)
    arr, _ = load_rgb(tmp_path / "c16.png")
    assert tuple(arr[0, 0]) == (255, 0, 0)


def test_packaged_image():
    arr, li = load_rgb("skimage:astronaut")
    assert arr.shape == (512, 512, 3) and li.source == "skimage:astronaut"
    with pytest.raises(InputError, match="unknown packaged image"):
        load_rgb("skimage:nosuch")


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\ntruncated"])
def test_unreadable_files(tmp_path: Path, content: bytes):
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(InputError) as ei:
        load_rgb(p)
    assert "bad.png" in str(ei.value) and "\n" not in str(ei.value)


def test_missing_and_directory(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        load_rgb(tmp_path / "none.jpg")
    with pytest.raises(InputError, match="directory"):
        load_rgb(tmp_path)


def test_input_is_never_modified(tmp_path: Path):
    p = tmp_path / "in.jpg"
    Image.fromarray(_grad(64, 64)).save(p, quality=90)
    before = p.read_bytes()
    load_rgb(p)
    assert p.read_bytes() == before


def test_atomic_write_leaves_no_partial_file(tmp_path: Path):
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"old")

    import vlm_privsc.io.atomic as atomic
    from vlm_privsc.errors import OutputError

    orig = atomic.os.replace

    def broken(*a, **k):
        raise OSError("disk full")

    atomic.os.replace = broken
    try:
        with pytest.raises(OutputError, match="out.bin': disk full"):  # one line naming the file
            atomic_write_bytes(target, b"new content")
    finally:
        atomic.os.replace = orig
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_writes_follow_the_umask_and_take_a_mode(tmp_path: Path):
    import os
    import stat

    from vlm_privsc.io.atomic import atomic_write_bytes

    old = os.umask(0o027)
    try:
        p = atomic_write_bytes(tmp_path / "out.png", b"x")
        key = atomic_write_bytes(tmp_path / "bob.key", b"k", mode=0o600)
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640  # 0o666 less the umask, as open() gives
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
