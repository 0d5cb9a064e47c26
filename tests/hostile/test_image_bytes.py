"""Encoded image bytes (object storage, uploads, Ray's binary files) decode exactly as the same
file does, with the same checks: empty, garbage, bombs and lying PNG chunks are one-line errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from facepoints.pipeline.images import ImageError, as_rgb, decode_image, load_image

from .image_bombs import bomb_png


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".bmp", ".tif"])
def test_bytes_decode_as_the_file_does(tmp_path, astronaut, suffix):
    path = tmp_path / f"a{suffix}"
    Image.fromarray(astronaut).save(path)
    data = path.read_bytes()
    assert np.array_equal(decode_image(data), load_image(path))
    assert np.array_equal(as_rgb(data), load_image(path))
    assert np.array_equal(decode_image(bytearray(data)), load_image(path))


def test_exif_orientation_applies_to_bytes(tmp_path, astronaut):
    path = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(astronaut[:, :300]).save(path, exif=exif)
    assert decode_image(path.read_bytes()).shape == load_image(path).shape == (300, 512, 3)


@pytest.mark.parametrize("data, message", [(b"", "empty"), (b"hello, not an image", "not a readable image"),
                                           (b"\x89PNG\r\n\x1a\n" + b"\x00" * 5, "not a readable image")])
def test_bad_bytes_are_one_line(data, message):
    with pytest.raises(ImageError, match=message) as info:
        decode_image(data, source="upload.png")
    assert "\n" not in str(info.value) and str(info.value).startswith("upload.png: ")


def test_bomb_bytes_are_refused_from_the_header(tmp_path):
    data = bomb_png(tmp_path / "bomb.png", 30000, 30000).read_bytes()
    with pytest.raises(ImageError, match="more than the limit"):
        decode_image(data)


def test_lying_png_chunk_in_bytes_is_refused(tmp_path, astronaut):
    ok, png = cv2.imencode(".png", astronaut)
    data = bytearray(png.tobytes())
    data[33:37] = (1 << 30).to_bytes(4, "big")  # the first chunk after IHDR declares 1 GB
    with pytest.raises(ImageError, match="declares"):
        decode_image(bytes(data))


def test_not_bytes_is_a_type_error():
    with pytest.raises(TypeError, match="expected bytes"):
        decode_image("a/path.png")  # type: ignore[arg-type]
