"""2x3 affine matrices acting on (x, y) pixel coordinates (0-based, pixel centre = integer)."""
from __future__ import annotations

import numpy as np


def similarity_matrix(src_centre: tuple[float, float], scale: float, angle_deg: float = 0.0,
                      dst_centre: tuple[float, float] = (0.0, 0.0), shear: float = 0.0,
                      flip: bool = False) -> np.ndarray:
    """Matrix taking ``src_centre`` to ``dst_centre``, scaling by ``scale`` and rotating by
    ``angle_deg`` (counter-clockwise on screen), with optional x-shear and horizontal flip."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    lin = np.array([[c, s], [-s, c]], dtype=np.float64) * scale
    if shear:
        lin = lin @ np.array([[1.0, shear], [0.0, 1.0]])
    if flip:
        lin = np.diag([-1.0, 1.0]) @ lin
    t = np.asarray(dst_centre, dtype=np.float64) - lin @ np.asarray(src_centre, dtype=np.float64)
    return np.hstack([lin, t[:, None]])


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 matrix to (..., 2) points."""
    pts = np.asarray(points, dtype=np.float64)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix."""
    lin = np.linalg.inv(matrix[:, :2])
    return np.hstack([lin, -(lin @ matrix[:, 2])[:, None]])


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The matrix of ``outer`` applied after ``inner``."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])
