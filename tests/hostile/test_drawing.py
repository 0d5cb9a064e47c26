"""Overlays of hostile results never crash: coordinates beyond int32, NaN and inf, empty faces,
faces without points, tiny images; through the API and a real `facepoints detect` process."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from facepoints.drawing import draw_faces
from facepoints.results import Face
from facepoints.tracking import FrameResult, TrackedFace, annotate

WHITE = np.full((120, 160, 3), 255, np.uint8)
GRID = np.stack(np.meshgrid(np.linspace(40, 120, 17), np.linspace(30, 90, 4)), -1).reshape(-1, 2)[:68]
POOL = [0.0, -1.0, 5.5, 159.0, 2.0**31, -(2.0**31), 1e9, -1e9, 1e30, -1e30, 3.4e38, np.nan, np.inf, -np.inf]


def face(box=(40, 30, 120, 90), landmarks=GRID, **kw) -> Face:
    return Face(np.array(box, np.float64), kw.pop("score", 0.9), np.array(landmarks, np.float64), "ibug68",
                box_source=kw.pop("box_source", "dlib_hog"), **kw)


def check(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    before = image.copy()
    out = draw_faces(image, faces)
    assert out.shape == image.shape and out.dtype == np.uint8 and out is not image
    assert np.array_equal(image, before)  # the input is never drawn on
    return out


def test_box_beyond_int32_is_clipped_to_the_image():
    """`facepoints detect --box 0,0,1e30,1e30` once raised cv2.error in the overlay."""
    huge = face(box=(0, 0, 1e30, 1e30), landmarks=GRID * 1e28, sigma=np.full((68, 2), 1e28),
                pose=np.array([10.0, 5.0, 0.0]), confidence=0.0)
    out = check(WHITE, [huge])
    assert (out[0, 20:140] != 255).any() and (out[20:100, 0] != 255).any()  # the box's two visible edges


@pytest.mark.parametrize("value", [1e30, -1e30, 2.0**31, 1e9, np.inf, -np.inf, np.nan])
def test_each_kind_of_bad_number_in_points_sigma_and_pose(value):
    points = GRID.copy()
    points[::3] = value
    sigma = np.full((68, 2), 1.0)
    sigma[1::3] = value
    out = check(WHITE, [face(landmarks=points, sigma=sigma, pose=np.array([value, 0.0, 0.0]), confidence=0.5)])
    x, y = GRID[2]  # a finite point is still drawn
    assert (out[int(round(y)), int(round(x))] != 255).any()


@pytest.mark.parametrize("box", [(np.nan,) * 4, (0, 0, np.inf, np.inf), (-1e30, -1e30, -1e29, -1e29)])
def test_bad_boxes_with_good_points_still_draw_the_points(box):
    out = check(WHITE, [face(box=box, pose=np.zeros(3), confidence=0.9)])
    x, y = GRID[20]
    assert (out[int(round(y)), int(round(x))] != 255).any()


def test_empty_results_give_an_unchanged_copy():
    out = check(WHITE, [])
    assert np.array_equal(out, WHITE)
    check(WHITE, [face(landmarks=np.zeros((0, 2)), pose=np.zeros(3), sigma=np.zeros((0, 2)))])
    check(WHITE, [face(landmarks=np.full((68, 2), np.nan), pose=np.zeros(3), sigma=np.full((68, 2), np.nan))])


def test_tiny_images_take_labels_and_legend_bigger_than_themselves():
    for shape in [(1, 1, 3), (8, 8, 3), (8, 300, 3), (300, 8, 3)]:
        check(np.zeros(shape, np.uint8), [face(sigma=np.ones((68, 2)), pose=np.zeros(3), confidence=1.0)])


def test_fuzzed_faces_never_raise():
    rng = np.random.default_rng(0)
    for _ in range(150):
        n = int(rng.integers(0, 3))
        faces = []
        for _ in range(n):
            pick = lambda *shape: np.where(rng.random(shape) < 0.3, rng.choice(POOL, shape), rng.uniform(-50, 200, shape))
            faces.append(face(box=pick(4), landmarks=pick(68, 2), score=float(pick(1)[0]),
                              sigma=np.abs(pick(68, 2)) if rng.random() < 0.5 else None,
                              pose=pick(3) if rng.random() < 0.5 else None,
                              confidence=float(pick(1)[0]) if rng.random() < 0.5 else None,
                              box_source=str(rng.choice(["given", "dlib_hog", "track"]))))
        check(WHITE, faces)


def test_video_annotation_with_huge_tracked_points():
    tracked = TrackedFace(7, face(box=(0, 0, 1e30, 1e30), pose=np.zeros(3), confidence=0.9), GRID * 1e30)
    out = annotate(WHITE, FrameResult(0, 0.0, [tracked], detector_ran=True))
    assert out.shape == WHITE.shape


def test_detect_cli_with_a_box_beyond_int32_writes_its_overlay(tmp_path):
    image = tmp_path / "grey.png"
    cv2.imwrite(str(image), np.full((96, 96, 3), 128, np.uint8))
    for box in ("0,0,1e30,1e30", "-1e30,-1e30,1e30,1e30"):
        out = tmp_path / box.replace(",", "_")
        proc = subprocess.run([sys.executable, "-m", "facepoints", "detect", str(image), f"--box={box}",
                               "--out", str(out), "--no-progress"], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        overlay = cv2.imread(str(out / "grey_overlay.png"))
        assert overlay is not None and overlay.shape == (96, 96, 3)
