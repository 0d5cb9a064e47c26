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
    """Inverse of a 2x3 affine matrix (``np.linalg.LinAlgError`` when it is singular)."""
    (a, b, tx), (c, d, ty) = np.asarray(matrix, np.float64).tolist()
    det = a * d - b * c
    if det == 0.0 or not np.isfinite(det):
        raise np.linalg.LinAlgError("the affine matrix is singular")
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det  # closed form: 10x faster than np.linalg.inv
    return np.array([[ia, ib, -(ia * tx + ib * ty)], [ic, id_, -(ic * tx + id_ * ty)]])


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The matrix of ``outer`` applied after ``inner``."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares 2x3 similarity (rotation, uniform scale, translation) taking (N, 2) ``src``
    to (N, 2) ``dst`` (Umeyama's closed form, no reflection); ``weights`` (N,) optional.

    Rows with NaN in either set are ignored; fewer than two usable points give the pure
    translation between the centroids (or the identity)."""
    s = np.ascontiguousarray(src, np.float64).reshape(-1, 2)
    d = np.ascontiguousarray(dst, np.float64).reshape(-1, 2)
    w = None if weights is None else np.asarray(weights, np.float64).reshape(-1)
    if w is not None or not (np.isfinite(s).all() and np.isfinite(d).all()):
        w = np.ones(len(s)) if w is None else w
        ok = np.isfinite(s).all(1) & np.isfinite(d).all(1) & (w > 0)
        s, d, w = np.ascontiguousarray(s[ok]), np.ascontiguousarray(d[ok]), w[ok] / max(float(w[ok].sum()), 1e-12)
    if len(s) == 0:
        return np.hstack([np.eye(2), np.zeros((2, 1))])
    # complex form of 2-D Procrustes: dst ~ z * src + t, z = a + ib = scale * exp(i angle)
    zs, zd = s.view(np.complex128).ravel(), d.view(np.complex128).ravel()
    w = np.full(len(s), 1.0 / len(s)) if w is None else w
    ms, md = w @ zs, w @ zd
    sc, dc = zs - ms, zd - md
    var = float(w @ (sc.real * sc.real + sc.imag * sc.imag))
    if len(s) < 2 or var < 1e-12:
        return np.hstack([np.eye(2), np.array([[(md - ms).real], [(md - ms).imag]])])
    z = complex((w * np.conj(sc)) @ dc) / var
    t = md - z * ms
    return np.array([[z.real, -z.imag, t.real], [z.imag, z.real, t.imag]])
