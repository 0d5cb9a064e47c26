"""Overlays a person can read: labels in words that no pose arrow covers, uncertainty ellipses
larger than the point markers at a scale the legend states."""
from __future__ import annotations

import numpy as np
import pytest

from facepoints.drawing import draw_faces
from facepoints.drawing.overlay import (POSE_AXIS_COLOURS, choose_sigma_scale, face_label, legend_lines)
from facepoints.results import Face

GRID = np.stack(np.meshgrid(np.linspace(180, 260, 17), np.linspace(200, 280, 4)), -1).reshape(-1, 2)[:68]
BOX = (170.0, 190.0, 270.0, 290.0)
PLATE = 89  # 255 darkened by the label plate (x 0.35)


def face(**kw) -> Face:
    return Face(np.array(BOX), kw.pop("score", 1.16), GRID, "ibug68", box_source=kw.pop("box_source", "dlib_hog"), **kw)


def test_labels_say_what_each_number_is():
    assert face_label(face(confidence=0.998), "face 1") == "face 1  det 1.16  conf 1.00"
    assert face_label(face(box_source="given"), "face 2") == "face 2  box given"
    assert face_label(face(box_source="track", score=0.5), "track 3") == "track 3  det 0.50"
    lines = legend_lines([face(confidence=1.0, pose=np.zeros(3), sigma=np.ones((68, 2)))], 5)
    text = ["".join(piece for piece, _ in line) for line in lines]
    assert text == ["det: detector score  conf: face probability", "ellipses: 5 x sigma (point spread)",
                    "pose: facing up subject's left"]
    assert legend_lines([], 5) == [] and legend_lines([face(box_source="given")], 1) == []


def plate_rows_and_columns(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the label plate on a white picture (pure darkened-white pixels)."""
    ys, xs = np.nonzero(np.all(image == PLATE, axis=-1))
    assert len(ys), "no label plate drawn"
    return ys, xs


@pytest.mark.parametrize("pose", [(0, 0, 0), (0, 30, 0), (0, -40, 0), (60, 0, 20), (0, 0, 180)])
def test_pose_axes_never_cover_the_label(pose):
    """The 'up' axis once ran through the '1.16 face 1.00' text above the box."""
    white = np.full((512, 512, 3), 255, np.uint8)
    out = draw_faces(white, [face(confidence=1.0, pose=np.array(pose, float))], legend=False)
    ys, xs = plate_rows_and_columns(out)
    label = out[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    for colour in POSE_AXIS_COLOURS:
        assert not np.all(label == colour, axis=-1).any(), f"pose axis {colour} inside the label"
    axes = np.zeros(out.shape[:2], bool)
    for colour in POSE_AXIS_COLOURS:
        axes |= np.all(out == colour, axis=-1)
    ay, ax = np.nonzero(axes)
    inside = (ay >= ys.min()) & (ay <= ys.max()) & (ax >= xs.min()) & (ax <= xs.max())
    assert not inside.any()  # not even partly under the plate's rectangle


def test_labels_of_neighbouring_faces_do_not_overlap():
    white = np.full((400, 400, 3), 255, np.uint8)
    small = (GRID - GRID.min(0)) * 0.5 + [10, 15]  # 40 x 40 px of points inside a 60 px box
    faces = [Face(np.array([x, 100, x + 60, 160.0]), 1.0, small + [x, 100], "ibug68",
                  box_source="dlib_hog", confidence=0.9, pose=np.zeros(3)) for x in (40, 110, 180)]
    out = draw_faces(white, faces, legend=False)
    plate = np.all(out == PLATE, axis=-1)
    assert plate.sum() > 3 * 500  # three labels' plates
    assert not np.all(out == int(PLATE * 0.35), axis=-1).any()  # no plate drawn over another
    for f in faces:
        x0, y0, x1, y1 = f.box.astype(int)
        assert not plate[y0 + 3:y1 - 2, x0 + 3:x1 - 2].any()  # none covers a face


def test_sigma_ellipses_are_scaled_to_read_and_the_scale_is_stated():
    """DSLPT's ~1-pixel 1-sigma ellipses hid under the 2-pixel point markers."""
    sigma = np.full((68, 2), 0.7, np.float32)
    assert choose_sigma_scale([face(sigma=sigma)], 2) == 5
    assert choose_sigma_scale([face(sigma=sigma * 10)], 2) == 1  # wide spreads are shown as they are
    assert choose_sigma_scale([face(sigma=sigma), face(sigma=sigma * 10)], 2) == 5  # the most certain face decides
    assert choose_sigma_scale([face()], 2) == 1
    white = np.full((512, 512, 3), 255, np.uint8)
    point = Face(np.array(BOX), 1.0, GRID[:1], "custom:1", sigma=sigma[:1], box_source="given")
    one = draw_faces(white, [point], sigma_scale=1, legend=False)
    auto = draw_faces(white, [point], legend=False)
    x, y = GRID[0].astype(int)
    assert (auto[y, x + 4] < 250).any() and (auto[y, x - 4] < 250).any()  # 5 x 0.7 px: beyond the 2 px marker
    assert (one[y, x + 4] >= 250).all() and (one[y, x - 4] >= 250).all()


def test_sigma_ellipse_follows_each_axis():
    sigma = np.tile([[4.0, 1.0]], (68, 1)).astype(np.float32)
    one = Face(np.array(BOX), 1.0, GRID[:1], "custom:1", sigma=sigma[:1], box_source="given")
    out = draw_faces(np.full((512, 512, 3), 255, np.uint8), [one], sigma_scale=3, legend=False)
    x, y = GRID[0].astype(int)
    assert (out[y, x + 11] < 250).any() and (out[y, x - 11] < 250).any()   # 3 x 4 px wide
    assert (out[y + 6, x] >= 250).all()                                       # 3 x 1 px high
