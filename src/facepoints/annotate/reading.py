"""One image of the input list through the model: read (local file or URL), run, rows."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..pipeline.images import decode_image
from ..tables.rows import error_rows, image_rows

if TYPE_CHECKING:
    from ..landmarker import Landmarker


def read_bytes(image: str) -> bytes:
    """The file's bytes: a local path, or a URL through fsspec."""
    if "://" in image:
        import fsspec

        with fsspec.open(image, "rb") as f:
            return f.read()
    with open(image, "rb") as f:
        return f.read()


def annotate_one(landmarker: Landmarker, image: str) -> list[dict]:
    """The rows of ``image``; an image that cannot be read or run gets an ``error`` row with the reason."""
    try:
        rgb = decode_image(read_bytes(image), source=image)
        return image_rows(image, landmarker(rgb))
    except (ValueError, OSError) as exc:  # ImageError, missing or unreadable file, a bad image
        return error_rows(image, str(exc) or type(exc).__name__)
