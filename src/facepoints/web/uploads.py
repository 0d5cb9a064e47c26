"""Reading ``POST /api/detect``'s form: the uploaded image (decoded like ``facepoints detect``
reads a file, every check included) and the optional ``points`` JSON."""
from __future__ import annotations

import tempfile
from pathlib import Path, PurePath

import numpy as np

from ..cli.points_file import parse_points
from ..pipeline.images import as_rgb
from .errors import RequestError

#: the largest request body accepted (HTTP 413 beyond it)
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
#: suffixes kept on the temporary copy of an upload (a decoder may go by it); others become none
KNOWN_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".gif"}


def upload_name(filename: str | None) -> str:
    """The upload's file name without any folders (``"upload"`` when the browser sent none)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    return name or "upload"


def decode_upload(data: bytes, name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of the uploaded bytes; ``RequestError`` (one line naming the upload) for
    an empty file, a file too large, or one ``facepoints.pipeline.images`` refuses (not an image,
    under 8 pixels, over ``MAX_PIXELS``)."""
    if not data:
        raise RequestError(f"{name}: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise RequestError(f"{name}: {len(data)} bytes is over the {MAX_UPLOAD_BYTES // 2**20} MB upload limit", 413)
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="facepoints-web-") as tmp:
        path = Path(tmp) / ("upload" + (suffix if suffix in KNOWN_SUFFIXES else ""))
        path.write_bytes(data)
        try:
            return as_rgb(path)
        except ValueError as exc:  # ImageError: its line names the temporary copy; name the upload instead
            raise RequestError(" ".join(str(exc).replace(str(path), name).split())) from None


def read_points(text: str | None) -> tuple[list[str] | None, np.ndarray | None]:
    """Names and (P, 2) plane points from the ``points`` field (``None`` when absent or blank)."""
    if text is None or not text.strip():
        return None, None
    try:
        return parse_points(text, "points")
    except ValueError as exc:
        raise RequestError(str(exc)) from None
