"""Did the video cut to another face? The tracked box's colours and layout, frame to frame.

A tracked face changes little between consecutive frames (motion, light, an occluder
entering, the mouth moving); a cut replaces what is in the box at once. Two cheap cues of
the box's central 80 %, each catching cuts the other misses:

* colours: a coarse RGB histogram (4 x 4 x 4 bins); :func:`colour_change` is the Hellinger
  (Bhattacharyya) distance of two, 0 (same colours) to 1 (disjoint);
* layout: a 12 x 12 grey thumbnail, zero mean and unit norm; :func:`layout_similarity` is
  the correlation of two, 1 (same picture) down to -1.

:func:`cut_reason` applies the limits of :class:`facepoints.tracking.health.HealthLimits`;
the tracker then ends the track, so the new face gets a new track instead of the old one's
id and smoothed history.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np


class Appearance(NamedTuple):
    """What a tracked box looks like: (64,) colour histogram and (144,) normalised grey thumbnail."""

    colours: np.ndarray
    layout: np.ndarray


def appearance(rgb: np.ndarray, box: np.ndarray, size: int = 24, thumb: int = 12) -> Appearance | None:
    """The :class:`Appearance` of the central 80 % of ``box`` (xyxy) in ``rgb``, or ``None``
    when that part lies outside the frame."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    xa, ya = max(0, int(x0 + dx)), max(0, int(y0 + dy))
    xb, yb = min(w, int(np.ceil(x1 - dx))), min(h, int(np.ceil(y1 - dy)))
    if xb - xa < 2 or yb - ya < 2:
        return None
    patch = cv2.resize(np.ascontiguousarray(rgb[ya:yb, xa:xb]), (size, size), interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([patch], [0, 1, 2], None, [4, 4, 4], [0, 256, 0, 256, 0, 256]).ravel()
    grey = cv2.resize(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY), (thumb, thumb),
                      interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    grey -= grey.mean()
    return Appearance((hist / max(float(hist.sum()), 1.0)).astype(np.float32),
                      grey / max(float(np.linalg.norm(grey)), 1e-6))


def colour_change(a: Appearance, b: Appearance) -> float:
    """Hellinger distance between the colour histograms of two appearances (0 to 1)."""
    return float(np.sqrt(max(0.0, 1.0 - float(np.sqrt(a.colours * b.colours).sum()))))


def layout_similarity(a: Appearance, b: Appearance) -> float:
    """Correlation of the grey thumbnails of two appearances (-1 to 1)."""
    return float(a.layout @ b.layout)


def cut_reason(before: Appearance | None, now: Appearance | None, max_colour_change: float,
               min_layout_similarity: float) -> str | None:
    """Why the box changed too much for one frame (a cut), or ``None`` (also when either is missing)."""
    if before is None or now is None:
        return None
    change = colour_change(before, now)
    if change > max_colour_change:
        return f"cut: the box's colours changed by {change:.2f} in one frame"
    similarity = layout_similarity(before, now)
    if similarity < min_layout_similarity:
        return f"cut: the box's picture correlates {similarity:.2f} with the previous frame's"
    return None
