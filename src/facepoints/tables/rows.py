"""The table schema: one row per face, shared by every writer (``facepoints detect --format``,
``facepoints.to_dataframe``). Field names are ``Face``'s; values are those of ``Face.to_dict``
(pixels rounded to 0.01, ``pose`` as ``{"yaw", "pitch", "roll"}`` degrees).

An image without a face gets one row with ``face`` = ``None`` and no face fields, so every
image that was read appears in the table; images that could not be read get no row."""
from __future__ import annotations

from collections.abc import Sequence

from ..results import Face

#: column -> what it holds; ``face`` is the face's 0-based index in its image
COLUMNS: dict[str, str] = {
    "image": "the image's path as given (or sample:NAME)",
    "width": "image width, pixels",
    "height": "image height, pixels",
    "face": "0-based face index in the image; empty when the image has no face",
    "box": "[x0, y0, x1, y1] pixels (Face.box)",
    "score": "detector score (1.0 for a given box)",
    "box_source": "the detector's name, or 'given'",
    "scheme": "landmark scheme, e.g. ibug68",
    "landmarks": "[[x, y], ...] 0-based pixels",
    "sigma": "[[sx, sy], ...] per-point spread in pixels; empty for models without it",
    "pose": "{yaw, pitch, roll} degrees; empty for models without a pose branch",
    "confidence": "the model's face probability; empty for models without it",
}
#: columns holding lists or a mapping (JSON text in a CSV cell)
NESTED = ("box", "landmarks", "sigma", "pose")
#: scalar columns' Python types
SCALARS = {"image": str, "width": int, "height": int, "face": int, "score": float, "box_source": str,
           "scheme": str, "confidence": float}


def image_rows(image: str, width: int | None, height: int | None, faces: Sequence[Face]) -> list[dict]:
    """The rows of one image: one per face, or one with ``face`` = ``None`` when it has none."""
    base = {"image": str(image), "width": None if width is None else int(width),
            "height": None if height is None else int(height)}
    if not faces:
        return [{**dict.fromkeys(COLUMNS), **base}]
    rows = []
    for index, face in enumerate(faces):
        values = face.to_dict()
        rows.append({**base, "face": index, **{key: values.get(key) for key in list(COLUMNS)[4:]}})
    return rows
