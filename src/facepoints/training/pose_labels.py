"""Head-pose pseudo-labels: fit the 3D mean face to 2D landmarks with ``cv2.solvePnP``.

No pose-annotated images are available here, so the pose branch learns from the pose that
best explains each face's annotated 68 landmarks under a rigid 3D mean face (SPIGA's,
BSD-3-Clause, shipped in ``training/data``). The labels inherit the template's limits: no
expression or identity shape, so a wide mouth or a long face biases pitch by a few degrees.

Camera model (pinhole, no distortion), defined on the network crop so that a label never
depends on where the face sat in the original photo: principal point at the crop centre
(the face centre) and focal length ``FOCAL_PER_SIDE`` x the crop side, i.e. a ~19 degree
field of view across the crop, about what a face filling a quarter to a third of an
ordinary (~50-60 degree) photo sees. Pose is relative to the ray through the face centre.

Angles follow ``facepoints.geometry.pose``: (yaw, pitch, roll) degrees; yaw > 0 the
subject turns to their left, pitch > 0 looks up, roll > 0 counter-clockwise in the image.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from ..datasets.records import FaceRecord
from ..geometry import OPENCV_FROM_VIEWER, apply_affine, box_from_points, matrix_to_pose, pose_to_matrix
from ..pipeline.crop import CropSpec
from ..schemes import get_scheme

#: focal length in units of the crop side (see the module docstring)
FOCAL_PER_SIDE = 3.0
#: distance of the synthetic camera from the template, in template units (used for synthesis)
SYNTH_DISTANCE = 6.0


def describe_labels(focal_per_side: float = FOCAL_PER_SIDE) -> str:
    """One line saying what the pose labels are (for model cards and reports)."""
    return ("pseudo-labels: cv2.solvePnP fit of the SPIGA 3D mean face (symmetrised) to the annotated "
            f"landmarks; pinhole camera on the crop, focal {focal_per_side:g} x crop side, principal point "
            "at the crop centre; no pose-annotated data was used")


@lru_cache(maxsize=None)
def mean_face_3d(scheme: str = "ibug68") -> np.ndarray:
    """(N, 3) float64 3D mean face in the viewer frame (x image right, y up, z towards the camera),
    made exactly left-right symmetric (averaged with its mirror image), so that mirroring a face's
    landmarks mirrors its label (yaw and roll change sign) without a template bias."""
    if scheme != "ibug68":
        raise KeyError(f"no 3D mean face for scheme {scheme!r} (only ibug68)")
    text = resources.files("facepoints.training.data").joinpath("mean_face_3d_ibug68.json").read_text()
    points = np.asarray(json.loads(text)["points"], np.float64)
    mirrored = points[list(get_scheme(scheme).flip_permutation)] * [-1.0, 1.0, 1.0]
    points = (points + mirrored) / 2
    points.setflags(write=False)
    return points


def camera_matrix(crop_size: float, focal_per_side: float = FOCAL_PER_SIDE) -> np.ndarray:
    """3x3 intrinsics of the crop camera: focal ``focal_per_side * crop_size``, centre at the crop centre."""
    f = focal_per_side * float(crop_size)
    c = (float(crop_size) - 1) / 2
    return np.array([[f, 0, c], [0, f, c], [0, 0, 1]], np.float64)


def fit_pose(points_2d: np.ndarray, crop_size: float, focal_per_side: float = FOCAL_PER_SIDE,
             scheme: str = "ibug68") -> np.ndarray:
    """(yaw, pitch, roll) degrees of the mean face best matching (N, 2) crop-pixel landmarks."""
    model = mean_face_3d(scheme)
    image = np.asarray(points_2d, np.float64).reshape(-1, 2)
    ok = np.isfinite(image).all(axis=1)
    if ok.sum() < 6:
        raise ValueError("need at least 6 labelled landmarks to fit a head pose")
    k = camera_matrix(crop_size, focal_per_side)
    # start in front of the camera at the distance implied by the face's size
    span = np.ptp(image[ok], axis=0).max()
    distance = k[0, 0] * np.ptp(model[ok], axis=0)[:2].max() / max(span, 1e-6)
    centre = image[ok].mean(axis=0) - k[:2, 2]
    tvec = np.array([[centre[0] * distance / k[0, 0]], [centre[1] * distance / k[0, 0]], [distance]])
    rvec, _ = cv2.Rodrigues(OPENCV_FROM_VIEWER)
    found, rvec, tvec = cv2.solvePnP(model[ok], image[ok], k, None, rvec, tvec, useExtrinsicGuess=True,
                                     flags=cv2.SOLVEPNP_ITERATIVE)
    if not found:
        raise ValueError("solvePnP found no pose")
    rotation, _ = cv2.Rodrigues(rvec)
    return matrix_to_pose(OPENCV_FROM_VIEWER @ rotation)


def fit_poses(points_2d: np.ndarray, crop_size: float, focal_per_side: float = FOCAL_PER_SIDE) -> np.ndarray:
    """(K, 3) poses for (K, N, 2) crop-pixel landmark sets."""
    return np.stack([fit_pose(p, crop_size, focal_per_side) for p in points_2d]) if len(points_2d) else \
        np.zeros((0, 3))


def project_mean_face(pose_deg: np.ndarray, crop_size: float, distance: float = SYNTH_DISTANCE,
                      focal_per_side: float = FOCAL_PER_SIDE, scheme: str = "ibug68") -> np.ndarray:
    """(N, 2) crop pixels of the mean face at ``pose_deg``, ``distance`` units in front of the crop
    camera on its axis (synthetic data for tests and sanity checks)."""
    rotation = OPENCV_FROM_VIEWER @ pose_to_matrix(pose_deg)
    cam = mean_face_3d(scheme) @ rotation.T + np.array([0.0, 0.0, distance])
    k = camera_matrix(crop_size, focal_per_side)
    return (cam[:, :2] / cam[:, 2:]) * k[0, 0] + k[:2, 2]


def crop_pose_labels(records: Sequence[FaceRecord], spec: CropSpec,
                     focal_per_side: float = FOCAL_PER_SIDE) -> np.ndarray:
    """(K, 3) pseudo-label poses in degrees of records' faces, each fitted in the upright inference
    crop of its tight landmark box (``spec``), i.e. the crop the network sees at evaluation."""
    out = []
    for rec in records:
        matrix = spec.box_matrix(box_from_points(rec.landmarks))
        out.append(fit_pose(apply_affine(matrix, rec.landmarks), spec.size, focal_per_side, rec.scheme))
    return np.stack(out) if out else np.zeros((0, 3))
