"""OpenCV drawing that takes any float coordinates (huge, negative, NaN) without crashing:
shapes are clipped to a window around the image, and non-finite ones are skipped."""
from __future__ import annotations

import math

import cv2
import numpy as np

#: sub-pixel bits for circles and ellipses (cv2's ``shift``): positions in 1/16 pixel
SHIFT = 4


def window(image: np.ndarray) -> tuple[float, float, float, float]:
    """The drawing window: the image grown by its own size on every side (everything
    outside is invisible, and every coordinate inside fits cv2's int32 with ``SHIFT``)."""
    h, w = image.shape[:2]
    m = max(h, w)
    return -m, -m, w + m, h + m


def finite(*values: float) -> bool:
    return all(math.isfinite(float(v)) for v in values)


def rectangle(image: np.ndarray, box, colour, thickness: int) -> None:
    """An axis-aligned box; corners beyond the window are clamped to it (what shows is unchanged)."""
    if not finite(*box):
        return
    x0, y0, x1, y1 = window(image)
    xs = np.clip([box[0], box[2]], x0, x1)
    ys = np.clip([box[1], box[3]], y0, y1)
    cv2.rectangle(image, _pixel(xs[0], ys[0]), _pixel(xs[1], ys[1]), colour, thickness, cv2.LINE_AA)


def dot(image: np.ndarray, x: float, y: float, radius: float, colour) -> None:
    """A filled disc; nothing when the centre is not finite or the disc is off the image."""
    h, w = image.shape[:2]
    if not finite(x, y) or not (-radius <= x <= w + radius and -radius <= y <= h + radius):
        return
    s = 1 << SHIFT
    cv2.circle(image, _pixel(x * s, y * s), max(1, int(round(radius * s))), colour, -1, cv2.LINE_AA, SHIFT)


def ellipse(image: np.ndarray, x: float, y: float, ax: float, ay: float, colour, thickness: int) -> None:
    """An axis-aligned ellipse with half-axes ``ax``, ``ay`` (at least half a pixel; at most twice
    the image size; ``thickness`` -1 fills it); nothing when it cannot touch the image or is not finite."""
    h, w = image.shape[:2]
    if not finite(x, y, ax, ay):
        return
    limit = 2 * max(h, w)
    ax, ay = min(max(ax, 0.5), limit), min(max(ay, 0.5), limit)
    if not (-ax <= x <= w + ax and -ay <= y <= h + ay):
        return
    s = 1 << SHIFT
    cv2.ellipse(image, _pixel(x * s, y * s), _pixel(ax * s, ay * s), 0, 0, 360, colour,
                thickness, cv2.LINE_AA, SHIFT)


def clip_segment(image: np.ndarray, start, end) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of the segment inside the drawing window (Liang-Barsky), or ``None``."""
    p, q = np.asarray(start, np.float64), np.asarray(end, np.float64)
    if not finite(*p, *q):
        return None
    lo_x, lo_y, hi_x, hi_y = window(image)
    d = q - p
    t0, t1 = 0.0, 1.0
    for step, gap_low, gap_high in ((d[0], p[0] - lo_x, hi_x - p[0]), (d[1], p[1] - lo_y, hi_y - p[1])):
        for num, den in ((gap_low, -step), (gap_high, step)):
            if den == 0:
                if num < 0:
                    return None
                continue
            t = num / den
            if den < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    if t0 > t1:
        return None
    return p + t0 * d, p + t1 * d


def arrow(image: np.ndarray, start, end, colour, thickness: int, tip: float = 0.15) -> None:
    """An arrow from ``start`` to ``end``, clipped to the drawing window (a clipped-off tip is
    off the image anyway); the tip length stays ``tip`` of the whole arrow."""
    part = clip_segment(image, start, end)
    if part is None:
        return
    a, b = part
    full = float(np.hypot(*(np.asarray(end, np.float64) - np.asarray(start, np.float64))))
    drawn = float(np.hypot(*(b - a)))
    if drawn < 0.5:
        return
    cv2.arrowedLine(image, _pixel(*a), _pixel(*b), colour, thickness,
                    cv2.LINE_AA, tipLength=min(1.0, tip * full / drawn))


def _pixel(x: float, y: float) -> tuple[int, int]:
    return int(round(float(x))), int(round(float(y)))
