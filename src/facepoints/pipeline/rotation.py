"""In-plane rotation (roll) of faces: estimated from eye points, and upright face boxes.

Angles are degrees, measured like ``atan2(dy, dx)`` of the line from the subject's right eye
(left in the picture of an upright face) to their left eye, in image coordinates (y down): 0
for an upright face, positive when the face is turned clockwise on screen. A crop made with
``CropSpec.box_matrix(box, angle=roll)`` shows that face upright.

An *upright box* is an xyxy box whose centre is in image pixels and whose width and height
are measured along the face's own axes (rotated by its roll); the crop uses only its centre
and longer side, so it frames a rotated face as tightly as an axis-aligned box frames an
upright one.
"""
from __future__ import annotations

import numpy as np

from ..geometry import box_from_points

__all__ = ["roll_from_eyes", "eye_groups", "landmark_roll", "upright_box", "rotate_points",
           "aligned_box", "upright_side", "angle_difference"]


def angle_difference(a, b) -> np.ndarray:
    """``a - b`` wrapped to [-180, 180) degrees."""
    return (np.asarray(a, np.float64) - np.asarray(b, np.float64) + 180.0) % 360.0 - 180.0


def roll_from_eyes(right_eye, left_eye) -> np.ndarray:
    """Roll in degrees from the subject's right and left eye positions ((..., 2) pixels)."""
    d = np.asarray(left_eye, np.float64) - np.asarray(right_eye, np.float64)
    return np.degrees(np.arctan2(d[..., 1], d[..., 0]))


def eye_groups(scheme) -> tuple[list[int], list[int]]:
    """A scheme's two interocular index groups as (subject's right eye, left eye), ordered by
    the mean shape (the right eye is on the picture's left) when the scheme has one."""
    first, second = (list(g) for g in scheme.interocular)
    mean = scheme.mean_shape
    if mean is not None and np.asarray(mean)[first, 0].mean() > np.asarray(mean)[second, 0].mean():
        first, second = second, first
    return first, second


def landmark_roll(points: np.ndarray, scheme) -> np.ndarray:
    """Roll in degrees of (..., N, 2) landmarks of ``scheme`` from its eye groups."""
    right, left = eye_groups(scheme)
    pts = np.asarray(points, np.float64)
    return roll_from_eyes(pts[..., right, :].mean(-2), pts[..., left, :].mean(-2))


def rotate_points(points: np.ndarray, centre, angle: float) -> np.ndarray:
    """(N, 2) points turned by ``-angle`` degrees about ``centre``: a face of roll ``angle``
    comes out upright (``angle`` < 0 undoes the turn)."""
    a = np.deg2rad(angle)
    c, s = np.cos(a), np.sin(a)
    rot = np.array([[c, s], [-s, c]])
    centre = np.asarray(centre, np.float64)
    return (np.asarray(points, np.float64) - centre) @ rot.T + centre


def upright_box(points: np.ndarray, roll: float) -> np.ndarray:
    """(4,) float32 upright box of (N, 2) landmarks of a face with ``roll``: the tight box of
    the points turned upright, its centre turned back into the image."""
    pts = np.asarray(points, np.float64)
    pts = pts[~np.isnan(pts).any(axis=1)] if np.isnan(pts).any() else pts
    pivot = pts.mean(0)
    a = np.deg2rad(roll)
    c, s = np.cos(a), np.sin(a)
    upright = (pts - pivot) @ np.array([[c, -s], [s, c]]) + pivot  # rotate_points(pts, pivot, roll), in one step
    box = np.concatenate([upright.min(0), upright.max(0)]).astype(np.float32).astype(np.float64)
    middle = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]) - pivot
    centre = middle @ np.array([[c, s], [-s, c]]) + pivot  # turned back: rotate_points(middle, pivot, -roll)
    half = np.array([box[2] - box[0], box[3] - box[1]]) / 2
    return np.concatenate([centre - half, centre + half]).astype(np.float32)


def aligned_box(box: np.ndarray, roll: float) -> np.ndarray:
    """(4,) float32 image-axis box around an upright ``box`` turned by ``roll``."""
    b = np.asarray(box, np.float64)
    corners = np.array([[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]])
    centre = corners.mean(0)
    return box_from_points(rotate_points(corners, centre, -roll)).astype(np.float32)


def upright_side(box: np.ndarray, roll: float) -> np.ndarray:
    """(4,) float32 square upright box of the face inside an image-axis ``box`` turned by
    ``roll`` (the inverse of :func:`aligned_box` for a square face box)."""
    b = np.asarray(box, np.float64)
    a = np.deg2rad(roll)
    side = max(b[2] - b[0], b[3] - b[1]) / (abs(np.cos(a)) + abs(np.sin(a)))
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32)
