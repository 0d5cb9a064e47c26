"""Face boxes: (x0, y0, x1, y1) float pixels, xyxy."""
from __future__ import annotations

import numpy as np


def box_from_points(points: np.ndarray) -> np.ndarray:
    """Tight xyxy box around (N, 2) points (ignoring NaN rows)."""
    pts = np.asarray(points, dtype=np.float32)
    pts = pts[~np.isnan(pts).any(axis=1)]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def validate_boxes(boxes) -> np.ndarray:
    """(K, 4) float32 xyxy boxes from any array-like; raises ``ValueError`` on bad boxes."""
    arr = np.asarray(boxes, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.size == 0:
        return np.zeros((0, 4), np.float32)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must be (K, 4) xyxy, got shape {np.shape(boxes)}")
    if not np.isfinite(arr).all():
        raise ValueError("boxes contain NaN or infinity")
    if (arr[:, 2] <= arr[:, 0]).any() or (arr[:, 3] <= arr[:, 1]).any():
        raise ValueError("boxes must be xyxy with x1 > x0 and y1 > y0")
    return arr


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between (K, 4) and (M, 4) xyxy boxes."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)
