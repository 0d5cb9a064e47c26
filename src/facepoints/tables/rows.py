"""The one table schema: a row per face, written by ``facepoints annotate`` (Parquet parts),
``facepoints detect --format jsonl|csv|parquet`` and ``facepoints.to_dataframe``.

An image without a face, or one that could not be read, gets one row with ``face = -1`` and its
``status`` (``no_face``, ``error``) and ``reason``, so no input is dropped silently. Values are
float32 as in ``Face`` (pixels, 0-based); ``box`` is [x0, y0, x1, y1], ``landmarks`` and
``sigma`` are lists of [x, y] pairs; the pose is ``yaw``, ``pitch``, ``roll`` degrees; columns a
model does not give are empty (``None``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

    from ..results import Face

COLUMNS = ("image", "face", "status", "reason", "box", "score", "box_source", "scheme", "landmarks", "sigma",
           "yaw", "pitch", "roll", "confidence")
#: columns holding lists (JSON text in a CSV cell)
NESTED = ("box", "landmarks", "sigma")
#: the other columns' Python types
SCALARS = {"image": str, "face": int, "status": str, "reason": str, "score": float, "box_source": str,
           "scheme": str, "yaw": float, "pitch": float, "roll": float, "confidence": float}


def schema() -> "pa.Schema":
    """The Arrow schema of every table written (so all parts of one output agree)."""
    import pyarrow as pa

    f32, pairs = pa.float32(), pa.list_(pa.list_(pa.float32()))
    return pa.schema([("image", pa.string()), ("face", pa.int32()), ("status", pa.string()),
                      ("reason", pa.string()), ("box", pa.list_(f32)), ("score", f32), ("box_source", pa.string()),
                      ("scheme", pa.string()), ("landmarks", pairs), ("sigma", pairs), ("yaw", f32),
                      ("pitch", f32), ("roll", f32), ("confidence", f32)])


def _f32(value: float | None) -> float | None:
    """``value`` as the float32 the tables store (so every format reads back the same number)."""
    return None if value is None else float(np.float32(value))


def _empty(image: str, status: str, reason: str | None) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(image=image, face=-1, status=status, reason=reason)
    return row


def image_rows(image: str, faces: list[Face]) -> list[dict]:
    """The rows of one image's faces (one ``no_face`` row when there is none)."""
    if not faces:
        return [_empty(image, "no_face", None)]
    rows = []
    for index, face in enumerate(faces):
        pose = face.pose.tolist() if face.pose is not None else [None] * 3
        rows.append({"image": image, "face": index, "status": "ok", "reason": None, "box": face.box.tolist(),
                     "score": _f32(face.score), "box_source": face.box_source, "scheme": face.scheme,
                     "landmarks": face.landmarks.tolist(),
                     "sigma": face.sigma.tolist() if face.sigma is not None else None,
                     "yaw": pose[0], "pitch": pose[1], "roll": pose[2], "confidence": _f32(face.confidence)})
    return rows


def error_rows(image: str, reason: str) -> list[dict]:
    """The one row of an image that could not be read or run (``reason``: one line)."""
    return [_empty(image, "error", reason.strip().splitlines()[0] if reason.strip() else "error")]


def to_table(rows: list[dict]) -> "pa.Table":
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema())


def faces_of(table: "pa.Table", image: str) -> list[dict]:
    """The face rows of ``image`` (for comparisons and tests)."""
    rows = [r for r in table.to_pylist() if r["image"] == image and r["face"] >= 0]
    return sorted(rows, key=lambda r: r["face"])


def landmarks_array(row: dict) -> np.ndarray:
    return np.asarray(row["landmarks"], np.float32)
