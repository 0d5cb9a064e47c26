"""Head-pose pseudo-labels: solvePnP of the 3D mean face recovers known angles, and the angle
conventions (signs, roll under image rotation, mirroring) hold on synthetic projections."""
from __future__ import annotations

import numpy as np
import pytest

from facepoints.geometry import matrix_to_pose, pose_axes_2d, pose_to_matrix
from facepoints.schemes import get_scheme
from facepoints.training.pose_labels import crop_pose_labels, fit_pose, mean_face_3d, project_mean_face

POSES = [(0, 0, 0), (30, 0, 0), (-45, 10, 5), (0, 25, 0), (0, -25, 0), (0, 0, 30), (60, -20, -35),
         (-70, 15, 20), (20, 30, -40)]


@pytest.mark.parametrize("pose", POSES)
@pytest.mark.parametrize("size", [112, 256])
def test_fit_recovers_synthetic_pose_within_one_degree(pose, size):
    points = project_mean_face(pose, size)
    np.testing.assert_allclose(fit_pose(points, size), pose, atol=1.0)


def test_fit_tolerates_landmark_noise():
    rng = np.random.default_rng(0)
    for pose in POSES:
        points = project_mean_face(pose, 112) + rng.normal(0, 0.5, (68, 2))   # half-pixel noise
        assert np.abs(fit_pose(points, 112) - pose).max() < 4.0


def test_sign_conventions_on_the_projected_face():
    """yaw > 0: nose tip right of the face centre; pitch > 0 (looking up): in the image the eyes
    come closer to the nose tip and the chin (further back than the nose) drops away; roll > 0:
    counter-clockwise in the image, so the outer corner of the subject's left eye (45) sits above
    the one of their right eye (36)."""
    centre = lambda p: p[[0, 16, 8]].mean(axis=0)  # noqa: E731
    frontal = project_mean_face((0, 0, 0), 112)
    turned = project_mean_face((30, 0, 0), 112)
    assert turned[30, 0] - centre(turned)[0] > frontal[30, 0] - centre(frontal)[0] + 5
    up = project_mean_face((0, 25, 0), 112)
    assert up[30, 1] - up[39, 1] < frontal[30, 1] - frontal[39, 1] - 3
    assert up[8, 1] - up[30, 1] > frontal[8, 1] - frontal[30, 1] + 3
    rolled = project_mean_face((0, 0, 20), 112)
    assert rolled[45, 1] < rolled[36, 1] - 5


def test_image_rotation_adds_to_roll_and_mirroring_negates_yaw_and_roll():
    size, pose = 112, np.array([25.0, -10.0, 5.0])
    pts = project_mean_face(pose, size)
    c = (size - 1) / 2
    a = np.deg2rad(15.0)                        # 15 degrees counter-clockwise on screen (y down)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    rotated = (pts - c) @ rot.T + c
    np.testing.assert_allclose(fit_pose(rotated, size), pose + [0, 0, 15], atol=1.0)
    mirrored = pts.copy()
    mirrored[:, 0] = size - 1 - mirrored[:, 0]
    mirrored = mirrored[list(get_scheme("ibug68").flip_permutation)]
    np.testing.assert_allclose(fit_pose(mirrored, size), pose * [-1, 1, -1], atol=1.0)


def test_matrix_round_trip_and_axes():
    for pose in POSES:
        np.testing.assert_allclose(matrix_to_pose(pose_to_matrix(pose)), pose, atol=1e-9)
    front, up, left = pose_axes_2d((0, 0, 0))
    np.testing.assert_allclose(front, [0, 0], atol=1e-12)   # facing the camera: no extent
    np.testing.assert_allclose(up, [0, -1], atol=1e-12)     # image y runs down
    np.testing.assert_allclose(left, [1, 0], atol=1e-12)    # subject's left = image right
    assert pose_axes_2d((30, 0, 0))[0][0] > 0.4              # turned left: faces image right


def test_mean_face_is_in_ibug_order():
    face = mean_face_3d()
    assert face.shape == (68, 3)
    assert face[36, 0] < face[45, 0] and face[0, 0] < face[16, 0]       # image left to right
    assert face[8, 1] < face[57, 1] < face[30, 1] < face[27, 1]          # chin, mouth, nose, bridge upwards
    assert face[30, 2] > face[0, 2]                                      # nose tip nearest the camera
    with pytest.raises(KeyError):
        mean_face_3d("wflw98")


def test_labels_of_real_faces_are_plausible(data_root):
    from facepoints.datasets.image_list import read_image_list
    from facepoints.pipeline.crop import CropSpec

    records = read_image_list(data_root / "300W/test_common.txt")[::20]
    labels = crop_pose_labels(records, CropSpec(112, 1.25))
    assert labels.shape == (len(records), 3)
    assert np.abs(labels).max() < 90
    assert np.abs(np.median(labels, axis=0)).max() < 15      # 300W common is mostly near-frontal
