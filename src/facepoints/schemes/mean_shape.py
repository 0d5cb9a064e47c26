"""Mean shapes in the canonical frame used by every scheme."""
from __future__ import annotations

import numpy as np


def to_canonical(landmarks: np.ndarray) -> np.ndarray:
    """Map (..., N, 2) points so their tight box is centred at 0 with longer side spanning [-1, 1]
    (NaN points, i.e. unlabelled ones, stay NaN and do not count for the box)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    lo, hi = np.nanmin(pts, axis=-2, keepdims=True), np.nanmax(pts, axis=-2, keepdims=True)
    centre = (lo + hi) / 2
    half = (hi - lo).max(axis=-1, keepdims=True) / 2
    return ((pts - centre) / half).astype(np.float32)


def mean_shape_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Mean of (M, N, 2) shapes after mapping each to the canonical frame, re-canonicalised; a
    point's mean skips the faces where it is NaN (NaN only where no face labels it)."""
    canonical = to_canonical(landmarks)
    labelled = np.isfinite(canonical).all(axis=-1, keepdims=True)
    count = labelled.sum(axis=0)
    mean = np.where(labelled, canonical, 0.0).sum(axis=0) / np.maximum(count, 1)
    return to_canonical(np.where(count > 0, mean, np.nan))
