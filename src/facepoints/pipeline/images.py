"""Loading and normalising input images to (H, W, 3) uint8 RGB.

Image files larger than ``MAX_PIXELS`` (width x height) are refused from their header, before
any pixel is decoded, so a small file declaring a huge image (a decompression bomb) costs
neither time nor memory. The limit is this module's ``MAX_PIXELS`` when set, else
``$FACEPOINTS_MAX_PIXELS``, else 2^26 = 67.1 million (e.g. 8192 x 8192, where ``facepoints
detect`` with its overlay peaks near 0.9 GB). The header is
read with Pillow (JPEG, PNG, TIFF, WebP, BMP, PNM, GIF...); a file Pillow cannot read is left
to OpenCV, whose own cap (2^30 pixels) applies, and the decoded size is checked again.
Pillow refuses headers above twice ``PIL.Image.MAX_IMAGE_PIXELS`` (179 million) by itself.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image as _PILImage

from .files import check_input_file

ImageInput = Union[str, Path, bytes, np.ndarray, _PILImage.Image]


class ImageError(ValueError):
    """An input that cannot be used as an image (missing, unreadable, empty, too small...)."""


MIN_SIDE = 8


DEFAULT_MAX_PIXELS = 2 ** 26

#: largest image (width x height) accepted, larger files are refused from their header;
#: ``None``: ``$FACEPOINTS_MAX_PIXELS`` when set, else ``DEFAULT_MAX_PIXELS``
MAX_PIXELS: int | None = None


def max_pixels() -> int:
    """The pixel limit in force: ``MAX_PIXELS``, else ``$FACEPOINTS_MAX_PIXELS``, else the default."""
    if MAX_PIXELS is not None:
        return int(MAX_PIXELS)
    text = os.environ.get("FACEPOINTS_MAX_PIXELS", "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        raise ValueError(f"$FACEPOINTS_MAX_PIXELS must be a number of pixels, got {text!r}") from None
    if value < MIN_SIDE * MIN_SIDE:
        raise ValueError(f"$FACEPOINTS_MAX_PIXELS must be at least {MIN_SIDE * MIN_SIDE}, got {text!r}")
    return value


def check_pixel_count(width: int, height: int, source: str) -> None:
    """``ImageError`` when a ``width`` x ``height`` image exceeds the limit (``max_pixels()``)."""
    limit = max_pixels()
    if int(width) * int(height) > limit:
        raise ImageError(f"{source}: image is {width}x{height} pixels, more than the limit of "
                         f"{limit:,} (facepoints.pipeline.images.MAX_PIXELS, $FACEPOINTS_MAX_PIXELS)")


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file into (H, W, 3) uint8 RGB; raises ``ImageError`` with a clear message.

    The size is checked against the pixel limit (``max_pixels()``) from the header, before decoding."""
    path = check_input_file(path, "image", ImageError)
    size, orientation = read_header(path)
    if size is not None:
        check_pixel_count(*size, str(path))
    return _decode(np.fromfile(str(path), dtype=np.uint8), str(path), orientation)


def decode_image(data: bytes | bytearray | memoryview, source: str = "image bytes") -> np.ndarray:
    """An encoded image file's bytes (e.g. read from object storage or an upload) -> (H, W, 3)
    uint8 RGB, with ``load_image``'s checks; ``source`` names it in errors."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{source}: expected bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageError(f"{source}: empty (0 bytes)")
    size, orientation = read_header(io.BytesIO(data))
    if size is not None:
        check_pixel_count(*size, source)
    return _decode(np.frombuffer(data, np.uint8), source, orientation)


def _decode(data: np.ndarray, source: str, orientation: int) -> np.ndarray:
    """Encoded bytes -> RGB uint8 with OpenCV, after the PNG chunk check; EXIF ``orientation`` applied."""
    check_png_chunks(data, source)
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:  # e.g. OpenCV's own size cap on a header Pillow could not read
        image = None
    if image is None:
        raise ImageError(f"{source}: not a readable image (unknown or corrupt format)")
    check_pixel_count(image.shape[1], image.shape[0], source)
    if image.ndim == 3 and image.shape[2] in (3, 4):  # BGR(A) -> RGB(A), any pixel type
        if image.dtype in (np.uint8, np.uint16, np.float32):  # in place: no second copy of a big image
            cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA, dst=image)
        else:
            image = image[..., [2, 1, 0, 3][:image.shape[2]]]
    return to_rgb_uint8(apply_exif_orientation(image, orientation), source=source)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


#: a PNG chunk may declare more bytes than its file holds (a cut file) up to this many
PNG_CHUNK_SLACK = 1 << 24


def check_png_chunks(data: np.ndarray, source: str) -> None:
    """``ImageError`` when a PNG file's chunk declares more bytes than the file holds and more
    than ``PNG_CHUNK_SLACK`` (OpenCV's PNG reader allocates the declared length first: 1 GB
    declared in a 30 KB file cost 1 GB). Smaller overruns (a cut file) are left to the decoder."""
    if data[:len(PNG_SIGNATURE)].tobytes() != PNG_SIGNATURE:
        return
    pos, size = len(PNG_SIGNATURE), len(data)
    while pos + 8 <= size:
        length = int.from_bytes(data[pos:pos + 4].tobytes(), "big")
        kind = data[pos + 4:pos + 8].tobytes()
        if length > size - pos - 12:
            if length > PNG_CHUNK_SLACK:
                raise ImageError(f"{source}: PNG chunk {kind.decode('latin-1')!r} declares {length:,} bytes "
                                 f"in a file of {size:,} (corrupt)")
            return
        if kind == b"IEND":
            return
        pos += 12 + length


def read_header(path: str | Path | io.BytesIO) -> tuple[tuple[int, int] | None, int]:
    """``((width, height), orientation)`` from an image file's header without decoding its pixels.

    The size is ``None`` when Pillow cannot read the header (unknown or corrupt format); the EXIF
    orientation is 1 (upright) when absent or unreadable. ``ImageError`` when
    Pillow itself refuses the header as a decompression bomb."""
    try:
        with warnings.catch_warnings():  # Pillow warns above 89 M pixels (our own limit speaks)
            warnings.simplefilter("ignore")  # and about broken EXIF or tags (OpenCV decodes)
            with _PILImage.open(path) as im:
                size = (int(im.size[0]), int(im.size[1]))
                try:
                    orientation = int(im.getexif().get(0x0112, 1))
                except Exception:  # noqa: BLE001 - a broken EXIF block means "upright"
                    orientation = 1
    except _PILImage.DecompressionBombError as exc:  # its message has the declared pixel count
        found = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"{int(found.group(1)):,}" if found else f"more than {2 * _PILImage.MAX_IMAGE_PIXELS:,}"
        raise ImageError(f"{path}: image header declares {count} pixels, more than the limit of "
                         f"{min(max_pixels(), 2 * _PILImage.MAX_IMAGE_PIXELS):,} (a decompression bomb?)") from None
    except Exception:  # noqa: BLE001 - unreadable for Pillow: OpenCV may still decode it
        return None, 1
    return size, orientation


def exif_orientation(path: str | Path) -> int:
    """The EXIF orientation tag of an image file (1 = upright, also when absent or unreadable)."""
    try:
        return read_header(path)[1]
    except ImageError:
        return 1


def apply_exif_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/mirror pixels so the image appears as a viewer shows it (EXIF orientation 1-8).
    Landmarks are then in the displayed image's coordinates, as users expect."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1),
           7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1), 8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(ops[orientation](image)) if orientation in ops else image


def to_rgb_uint8(image: np.ndarray, color_order: str = "RGB", source: str = "array") -> np.ndarray:
    """Normalise an array (grey, RGB/BGR, RGBA/BGRA) to RGB uint8. Pixel types: uint8; uint16;
    float (in [0, 1], else read as 0-255); bool; other integers by their range (see
    ``_integer_to_uint8``: values up to 255 as 8-bit, up to 65535 as 16-bit)."""
    arr = np.asarray(image)
    if arr.size == 0:
        raise ImageError(f"{source}: empty image")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"{source}: expected (H, W), (H, W, 3) or (H, W, 4), got shape {arr.shape}")
    if min(arr.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{source}: image is {arr.shape[1]}x{arr.shape[0]} pixels, "
                         f"too small for face analysis (min {MIN_SIDE})")
    arr = _to_uint8(arr, source)
    order = color_order.upper()
    if order not in ("RGB", "BGR"):
        raise ValueError(f"color_order must be 'RGB' or 'BGR', got {color_order!r}")
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    if arr.shape[2] == 4:
        arr = _composite_alpha(arr)
    if order == "BGR":
        arr = arr[..., ::-1]
    return np.ascontiguousarray(arr)


def _to_uint8(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageError(f"{source}: image contains NaN or infinity")
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        return np.clip(arr.astype(np.float32) * scale + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        return _integer_to_uint8(arr, source)
    raise ImageError(f"{source}: unsupported pixel type {arr.dtype}")


def _integer_to_uint8(arr: np.ndarray, source: str) -> np.ndarray:
    """Other integer types by their value range: up to 255 is 8-bit, up to 65535 is 16-bit (scaled
    as uint16), larger values are scaled from the type's full range; negative values are refused."""
    low, high = int(arr.min()), int(arr.max())
    if low < 0:
        raise ImageError(f"{source}: image has negative pixel values ({arr.dtype}, min {low})")
    if high <= 255:
        return arr.astype(np.uint8)
    top = 65535.0 if high <= 65535 else float(np.iinfo(arr.dtype).max)
    return (arr.astype(np.float64) * (255.0 / top) + 0.5).astype(np.uint8)


def _composite_alpha(rgba: np.ndarray) -> np.ndarray:
    """Blend a 4-channel image over white (transparent pixels become background)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)
    return (rgb + 0.5).astype(np.uint8)


def as_rgb(image: ImageInput, color_order: str = "RGB") -> np.ndarray:
    """Any accepted input -> RGB uint8: a path, an encoded file's bytes, a PIL image, or a numpy
    array read as RGB unless ``color_order="BGR"`` (OpenCV's ``cv2.imread`` and video frames give BGR)."""
    if isinstance(image, (str, Path)):
        return load_image(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_image(image)
    if isinstance(image, _PILImage.Image):
        mode = image.mode
        check_pixel_count(image.width, image.height, "PIL image")  # before a lazy image decodes
        try:
            if mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # "I" (int32) by its range, see to_rgb_uint8
                pixels = np.asarray(image)
                pixels = pixels.astype(np.uint16) if mode.startswith("I;16") else pixels
            else:
                if mode not in ("RGB", "RGBA", "L"):
                    image = image.convert("RGBA" if "A" in mode or "transparency" in image.info else "RGB")
                pixels = np.asarray(image)
        except (OSError, SyntaxError, ValueError) as exc:  # a lazily opened file that cannot decode
            raise ImageError(f"PIL image: cannot decode its pixels ({_first_line(exc)})") from None
        return to_rgb_uint8(pixels, "RGB", source="PIL image")
    if isinstance(image, np.ndarray):
        return to_rgb_uint8(image, color_order)
    raise TypeError(f"expected a path, image file bytes, a numpy array or a PIL image, got {type(image).__name__}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
