"""Points of the canonical face plane (TUFA's zero-shot prompts, thesis ch. 6.2.4).

The plane is the frame of every scheme's mean shape: the tight landmark box centred at 0 with
its longer side spanning [-1, 1], x to the right and y down. A new landmark is placed by its
geometric relation to known ones: a midpoint, a fraction along a contour, points between
contour points. These functions work on any (N, 2) plane points: a scheme's mean shape
(``scheme_plane_points``) or a TUFA model's learned anchors (``Landmarker.plane_points``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .scheme import LandmarkScheme

__all__ = ["as_plane_points", "scheme_plane_points", "midpoint", "along_contour", "interpolate_contour"]


#: largest plane coordinate accepted (the face's tight landmark box spans [-1, 1])
PLANE_LIMIT = 10.0


def as_plane_points(points: Sequence | np.ndarray) -> np.ndarray:
    """``points`` as a (P, 2) float32 array; ``ValueError`` unless it is a non-empty, finite (P, 2)
    within ``PLANE_LIMIT`` of the plane's centre."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"plane points must be numbers shaped (P, 2): {exc}") from exc
    if arr.size == 0:
        raise ValueError("plane points are empty: give at least one (x, y)")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"plane points must be shaped (P, 2), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("plane points must be finite (no NaN or infinity)")
    if np.abs(arr).max() > PLANE_LIMIT:
        raise ValueError(f"plane points must lie within [-{PLANE_LIMIT:g}, {PLANE_LIMIT:g}] (the face's tight "
                         f"box is [-1, 1]), got a coordinate of {np.abs(arr).max():.4g}")
    return arr.astype(np.float32)


def scheme_plane_points(scheme: LandmarkScheme | str, indices: Sequence[int] | None = None) -> np.ndarray:
    """(K, 2) float32 plane coordinates of a scheme's points (its canonical mean shape), all of
    them or those at ``indices`` (e.g. ``scheme.groups["jaw"]``), in that order."""
    if isinstance(scheme, str):
        from . import get_scheme  # the package's loader; this module is imported by it

        scheme = get_scheme(scheme)
    if scheme.mean_shape is None:
        raise ValueError(f"scheme {scheme.name} has no mean shape")
    mean = np.asarray(scheme.mean_shape, np.float32)
    return mean.copy() if indices is None else mean[_checked_indices(indices, len(mean))]


def midpoint(points_a: Sequence | np.ndarray, points_b: Sequence | np.ndarray) -> np.ndarray:
    """Point-wise midpoints of two (..., 2) arrays of plane points (float32)."""
    a, b = np.asarray(points_a, np.float64), np.asarray(points_b, np.float64)
    if a.shape[-1:] != (2,) or b.shape[-1:] != (2,):
        raise ValueError(f"midpoint needs (..., 2) points, got {a.shape} and {b.shape}")
    return ((a + b) / 2).astype(np.float32)


def along_contour(plane_points: np.ndarray, contour_indices: Sequence[int], fraction: float) -> np.ndarray:
    """(2,) the point ``fraction`` (0: first, 1: last) of the way along the polyline through
    ``plane_points[contour_indices]``, measured by arc length."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    line = _contour(plane_points, contour_indices, min_points=1)
    lengths = np.linalg.norm(np.diff(line, axis=0), axis=1)
    cumulative = np.r_[0.0, np.cumsum(lengths)]
    if cumulative[-1] == 0.0:
        return line[0].astype(np.float32)
    target = fraction * cumulative[-1]
    x = np.interp(target, cumulative, line[:, 0])
    y = np.interp(target, cumulative, line[:, 1])
    return np.array([x, y], np.float32)


def interpolate_contour(plane_points: np.ndarray, contour_indices: Sequence[int], per_segment: int,
                        include_ends: bool = False) -> np.ndarray:
    """``per_segment`` evenly spaced points strictly between each pair of consecutive contour
    points, in contour order: ((K - 1) * per_segment, 2) float32 for K contour points. With
    ``include_ends`` the contour points themselves are kept too (the densified contour)."""
    if int(per_segment) != per_segment or per_segment < 0:
        raise ValueError(f"per_segment must be a non-negative integer, got {per_segment}")
    line = _contour(plane_points, contour_indices, min_points=2)
    steps = np.arange(1, int(per_segment) + 1) / (int(per_segment) + 1)
    rows = []
    for start, end in zip(line[:-1], line[1:]):
        if include_ends:
            rows.append(start[None])
        rows.append(start + steps[:, None] * (end - start))
    if include_ends:
        rows.append(line[-1:])
    return np.concatenate(rows).astype(np.float32)


def _contour(plane_points: np.ndarray, contour_indices: Sequence[int], min_points: int) -> np.ndarray:
    """(K, 2) float64 contour points, checked."""
    points = as_plane_points(plane_points).astype(np.float64)
    idx = _checked_indices(contour_indices, len(points))
    if len(idx) < min_points:
        raise ValueError(f"a contour needs at least {min_points} point(s), got {len(idx)}")
    return points[idx]


def _checked_indices(indices: Sequence[int], count: int) -> list[int]:
    idx = [int(i) for i in indices]
    bad = [i for i in idx if not 0 <= i < count]
    if bad:
        raise ValueError(f"point indices {bad} are out of range 0..{count - 1}")
    return idx
