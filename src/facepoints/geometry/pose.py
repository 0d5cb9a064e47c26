"""Head-pose angles and rotation matrices (one convention for labels, models and overlays).

Frames:

- the *viewer* frame: x to the image's right, y up, z out of the image towards the camera
  (the 3D mean face is stored in it: a frontal face has its nose tip at +z);
- the OpenCV camera frame (x right, y down, z forward into the scene):
  ``R_opencv = OPENCV_FROM_VIEWER @ R_head``.

``R_head = Rz(roll) @ Ry(yaw) @ Rx(-pitch)``, angles in degrees:

- yaw > 0: the subject turns to their left (the face points towards the image's right);
- pitch > 0: the subject looks up;
- roll > 0: the head turns counter-clockwise in the image (towards the subject's right
  shoulder). Roll is the last factor, a rotation about the viewing axis, so rotating the
  image by a degrees counter-clockwise adds a to roll and leaves yaw and pitch unchanged;
  mirroring the image negates yaw and roll.
"""
from __future__ import annotations

import numpy as np

#: OpenCV camera axes expressed from the viewer frame (flip y and z)
OPENCV_FROM_VIEWER = np.diag([1.0, -1.0, -1.0])


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float64)


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float64)


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float64)


def pose_to_matrix(pose_deg: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees -> 3x3 head rotation in the viewer frame."""
    yaw, pitch, roll = np.deg2rad(np.asarray(pose_deg, np.float64).reshape(3))
    return _rz(roll) @ _ry(yaw) @ _rx(-pitch)


def matrix_to_pose(rotation: np.ndarray) -> np.ndarray:
    """3x3 head rotation in the viewer frame -> (yaw, pitch, roll) degrees (yaw in [-90, 90])."""
    r = np.asarray(rotation, np.float64)
    yaw = np.arctan2(-r[2, 0], np.hypot(r[2, 1], r[2, 2]))
    pitch = -np.arctan2(r[2, 1], r[2, 2])
    roll = np.arctan2(r[1, 0], r[0, 0])
    return np.rad2deg(np.array([yaw, pitch, roll]))


def pose_axes_2d(pose_deg: np.ndarray) -> np.ndarray:
    """(3, 2) unit-length image-plane directions (x right, y down) of the head's axes, in the
    order facing direction, up, subject's left (orthographic projection)."""
    r = pose_to_matrix(pose_deg)
    axes = r[:, [2, 1, 0]].T          # columns: model z (front), y (up), x (subject's left)
    return np.stack([axes[:, 0], -axes[:, 1]], axis=1)
