"""MERL-RAV labels: iBUG ``.pts`` files (68 points) whose signs code visibility.

Per the MERL-RAV README: non-negative (x, y) = unoccluded; negative (x, y) other
than (-1, -1) = externally occluded, located at (|x|, |y|); (-1, -1) =
self-occluded, location not annotated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..records import FaceRecord
from ._common import format_error, image_beside
from .pts import read_pts


def read_merl_rav_pts(path: str | Path, one_based: bool = True) -> FaceRecord:
    """One MERL-RAV face: self-occluded points are NaN, externally occluded ones are
    kept (absolute value) with ``visible`` False; ``visible`` is False for both.

    Convention: iBUG ``.pts`` coordinates are 1-based, so 1 is subtracted after
    decoding the signs (``one_based=False`` keeps them). ``image_path`` is the
    ``.jpg``/``.png`` beside the file (the ``.jpg`` name if none exists yet).
    ``attributes["self_occluded"]`` is the (N,) bool mask of the (-1, -1) points.
    """
    path = Path(path)
    raw = read_pts(path, one_based=False).astype(np.float64)
    negative = np.signbit(raw)  # counts -0.0 as negative
    mixed = negative.any(axis=1) & ~negative.all(axis=1)
    if mixed.any():
        bad = int(np.flatnonzero(mixed)[0])
        raise format_error(path, None, f"point {bad} has one negative coordinate; MERL-RAV negates both")
    self_occluded = np.all(raw == -1.0, axis=1)
    external = negative.all(axis=1) & ~self_occluded
    points = np.abs(raw) - (1.0 if one_based else 0.0)
    points[self_occluded] = np.nan
    visible = ~(self_occluded | external)
    image = image_beside(path) or path.with_suffix(".jpg")
    return FaceRecord(image, points, "ibug68", visible=visible,
                      attributes={"self_occluded": self_occluded})


def read_merl_rav_folder(folder: str | Path) -> list[FaceRecord]:
    """Every ``*.pts`` in ``folder`` (e.g. ``merl_rav_organized/frontal/testset``), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such MERL-RAV folder")
    return [read_merl_rav_pts(p) for p in sorted(folder.glob("*.pts"))]
