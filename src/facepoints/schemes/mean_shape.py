"""Mean shapes in the canonical frame used by every scheme."""
from __future__ import annotations

import numpy as np


def to_canonical(landmarks: np.ndarray) -> np.ndarray:
    """Map (..., N, 2) points so their tight box is centred at 0 with longer side spanning [-1, 1]."""
    pts = np.asarray(landmarks, dtype=np.float64)
    lo, hi = pts.min(axis=-2, keepdims=True), pts.max(axis=-2, keepdims=True)
    centre = (lo + hi) / 2
    half = (hi - lo).max(axis=-1, keepdims=True) / 2
    return ((pts - centre) / half).astype(np.float32)


def mean_shape_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Mean of (M, N, 2) shapes after mapping each to the canonical frame, re-canonicalised."""
    return to_canonical(to_canonical(landmarks).mean(axis=0))
