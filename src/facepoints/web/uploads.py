"""Reading ``POST /api/detect``'s form: the uploaded image (decoded with the checks ``facepoints
detect`` makes of a file) and the optional ``points`` JSON."""
from __future__ import annotations

from pathlib import PurePath

import numpy as np

from ..cli.points_file import parse_points
from ..pipeline.images import decode_image
from .errors import RequestError

#: the largest request body accepted (HTTP 413 beyond it)
MAX_UPLOAD_BYTES = 32 * 1024 * 1024


def upload_name(filename: str | None) -> str:
    """The upload's file name without any folders (``"upload"`` when the browser sent none)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    return name or "upload"


def decode_upload(data: bytes, name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of the uploaded bytes, decoded with every check ``facepoints detect``
    makes of a file (``facepoints.pipeline.images.decode_image``); ``RequestError`` (one line naming
    the upload) for a file too large, empty, not an image, under 8 pixels or over ``MAX_PIXELS``."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise RequestError(f"{name}: {len(data)} bytes is over the {MAX_UPLOAD_BYTES // 2**20} MB upload limit", 413)
    try:
        return decode_image(data, name)
    except ValueError as exc:  # ImageError
        raise RequestError(" ".join(str(exc).split())) from None


def read_points(text: str | None) -> tuple[list[str] | None, np.ndarray | None]:
    """Names and (P, 2) plane points from the ``points`` field (``None`` when absent or blank)."""
    if text is None or not text.strip():
        return None, None
    try:
        return parse_points(text, "points")
    except ValueError as exc:
        raise RequestError(str(exc)) from None
