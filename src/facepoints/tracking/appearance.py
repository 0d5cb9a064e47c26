"""Did the video cut to another face? A colour histogram of the tracked box, frame to frame.

A tracked face changes little between consecutive frames (motion, light, an occluder
entering); a cut replaces everything in the box at once. :func:`appearance` is a coarse
RGB histogram (4 x 4 x 4 bins) of the box's central part, :func:`appearance_change` the
Hellinger (Bhattacharyya) distance between two of them, 0 (same colours) to 1 (disjoint).
The tracker ends a track whose box changes more than ``HealthLimits.max_appearance_change``
in one frame, so the new face gets a new track instead of the old one's smoothed history.
"""
from __future__ import annotations

import cv2
import numpy as np


def appearance(rgb: np.ndarray, box: np.ndarray, size: int = 24) -> np.ndarray | None:
    """(64,) float32 normalised colour histogram of the central 80 % of ``box`` (xyxy) in ``rgb``,
    or ``None`` when that part lies outside the frame."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    xa, ya = max(0, int(x0 + dx)), max(0, int(y0 + dy))
    xb, yb = min(w, int(np.ceil(x1 - dx))), min(h, int(np.ceil(y1 - dy)))
    if xb - xa < 2 or yb - ya < 2:
        return None
    patch = cv2.resize(np.ascontiguousarray(rgb[ya:yb, xa:xb]), (size, size), interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([patch], [0, 1, 2], None, [4, 4, 4], [0, 256, 0, 256, 0, 256]).ravel()
    return (hist / max(float(hist.sum()), 1.0)).astype(np.float32)


def appearance_change(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Hellinger distance between two :func:`appearance` histograms (0 when either is missing)."""
    if a is None or b is None:
        return 0.0
    return float(np.sqrt(max(0.0, 1.0 - float(np.sqrt(a * b).sum()))))
