"""Loading and normalising input images to (H, W, 3) uint8 RGB."""
from __future__ import annotations

from pathlib import Path
from typing import Union

import cv2
import numpy as np

from .files import check_input_file

try:  # PIL is optional at runtime, but accepted when present
    from PIL import Image as _PILImage
except ImportError:  # pragma: no cover
    _PILImage = None

ImageInput = Union[str, Path, np.ndarray, "PILImage"]


class ImageError(ValueError):
    """An input that cannot be used as an image (missing, unreadable, empty, too small...)."""


MIN_SIDE = 8


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file into (H, W, 3) uint8 RGB; raises ``ImageError`` with a clear message."""
    path = check_input_file(path, "image", ImageError)
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError(f"{path}: not a readable image (unknown or corrupt format)")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        image = cv2.cvtColor(image, code)
    return to_rgb_uint8(apply_exif_orientation(image, exif_orientation(path)), source=str(path))


def exif_orientation(path: str | Path) -> int:
    """The EXIF orientation tag of an image file (1 = upright, also when absent or unreadable)."""
    if _PILImage is None:
        return 1
    try:
        with _PILImage.open(path) as im:
            return int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a missing or broken EXIF block means "upright"
        return 1


def apply_exif_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/mirror pixels so the image appears as a viewer shows it (EXIF orientation 1-8).
    Landmarks are then in the displayed image's coordinates, as users expect."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1),
           7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1), 8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(ops[orientation](image)) if orientation in ops else image


def to_rgb_uint8(image: np.ndarray, color_order: str = "RGB", source: str = "array") -> np.ndarray:
    """Normalise an array (grey, RGB/BGR, RGBA/BGRA; uint8, uint16 or float in [0, 1]) to RGB uint8."""
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
        return np.clip(arr, 0, 255).astype(np.uint8)
    raise ImageError(f"{source}: unsupported pixel type {arr.dtype}")


def _composite_alpha(rgba: np.ndarray) -> np.ndarray:
    """Blend a 4-channel image over white (transparent pixels become background)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)
    return (rgb + 0.5).astype(np.uint8)


def as_rgb(image: ImageInput, color_order: str = "RGB") -> np.ndarray:
    """Any accepted input (path, numpy array with explicit colour order, PIL image) -> RGB uint8."""
    if isinstance(image, (str, Path)):
        return load_image(image)
    if _PILImage is not None and isinstance(image, _PILImage.Image):
        mode = image.mode
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            return to_rgb_uint8(np.asarray(image).astype(np.uint16 if mode != "I" else np.int64),
                                source="PIL image")
        if mode not in ("RGB", "RGBA", "L"):
            image = image.convert("RGBA" if "A" in mode or "transparency" in image.info else "RGB")
        return to_rgb_uint8(np.asarray(image), "RGB", source="PIL image")
    if isinstance(image, np.ndarray):
        return to_rgb_uint8(image, color_order)
    raise TypeError(f"expected a path, a numpy array or a PIL image, got {type(image).__name__}")
