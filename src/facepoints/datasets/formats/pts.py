"""iBUG ``.pts`` files (300W, LFPW, HELEN, AFW, IBUG, 300W-private, Menpo, 300VW)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


class AnnotationFormatError(ValueError):
    """An annotation file that does not follow its official format."""


def read_pts(path: str | Path, one_based: bool = True) -> np.ndarray:
    """Read an iBUG ``.pts`` file, with or without its ``version/n_points/{ }`` header.

    Returns (N, 2) float32 in 0-based pixel coordinates (the official files are
    1-based, so 1 is subtracted unless ``one_based=False``).
    """
    path = Path(path)
    try:
        lines = [ln.strip() for ln in path.read_text().splitlines()]
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(f"{path}: not a text .pts file") from exc
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    declared = None
    rows: list[list[float]] = []
    for ln in lines:
        low = ln.lower()
        if low.startswith("version"):
            continue
        if low.startswith("n_points"):
            declared = int(ln.split(":")[1])
            continue
        if ln in ("{", "}"):
            continue
        parts = ln.replace(",", " ").split()
        if len(parts) < 2:
            raise AnnotationFormatError(f"{path}: bad point line {ln!r}")
        try:
            rows.append([float(parts[0]), float(parts[1])])
        except ValueError as exc:
            raise AnnotationFormatError(f"{path}: bad point line {ln!r}") from exc
    if not rows:
        raise AnnotationFormatError(f"{path}: no points")
    if declared is not None and declared != len(rows):
        raise AnnotationFormatError(f"{path}: header says {declared} points, file has {len(rows)}")
    pts = np.asarray(rows, dtype=np.float32)
    return pts - 1.0 if one_based else pts


def write_pts(path: str | Path, points: np.ndarray, one_based: bool = True) -> None:
    """Write (N, 2) 0-based points as an iBUG ``.pts`` file with header."""
    pts = np.asarray(points, dtype=np.float64) + (1.0 if one_based else 0.0)
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in pts)
    Path(path).write_text(f"version: 1\nn_points: {len(pts)}\n{{\n{body}\n}}\n")
