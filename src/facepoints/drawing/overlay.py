"""Overlays of results on images."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..geometry import pose_axes_2d
from ..results import Face
from ..schemes import get_scheme

GROUP_COLOURS = [(255, 80, 80), (80, 200, 80), (80, 160, 255), (255, 200, 40), (200, 80, 255),
                 (40, 220, 220), (255, 120, 200), (160, 160, 160)]
#: RGB colours of the pose axes (as the thesis figures): facing direction, up, subject's left
POSE_AXIS_COLOURS = ((255, 0, 0), (0, 0, 255), (0, 200, 0))
#: pose axis length as a fraction of the face box's longer side
POSE_AXIS_LENGTH = 0.6


def draw_faces(image_rgb: np.ndarray, faces: Sequence[Face], thickness: int | None = None) -> np.ndarray:
    """A copy of an RGB image with each face's box, landmarks (coloured by group) and, when the
    model gives them, 1-sigma uncertainty ellipses, the face confidence and head-pose axes."""
    out = np.ascontiguousarray(image_rgb.copy())
    scale = max(out.shape[:2]) / 640
    t = thickness or max(1, int(round(2 * scale)))
    r = max(1, int(round(2 * scale)))
    for face in faces:
        x0, y0, x1, y1 = [int(round(v)) for v in face.box]
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 255, 0), t, cv2.LINE_AA)
        label = f"{face.score:.2f}" if face.confidence is None else f"{face.score:.2f} face {face.confidence:.2f}"
        cv2.putText(out, label, (x0, max(0, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * max(scale, 1), (0, 255, 0), max(1, t // 2), cv2.LINE_AA)
        colours = _point_colours(face)
        if face.sigma is not None:
            for (x, y), (sx, sy), c in zip(face.landmarks, face.sigma, colours):
                cv2.ellipse(out, (int(round(x)), int(round(y))),
                            (max(1, int(round(sx))), max(1, int(round(sy)))), 0, 0, 360, c, 1, cv2.LINE_AA)
        for (x, y), c in zip(face.landmarks, colours):
            cv2.circle(out, (int(round(x)), int(round(y))), r, c, -1, cv2.LINE_AA)
        if face.pose is not None:
            draw_pose_axes(out, face, t + 1)
    return out


def draw_pose_axes(image: np.ndarray, face: Face, thickness: int = 2) -> None:
    """Draw ``face.pose`` in place as three arrows from the face centre (the landmarks' mean):
    red = facing direction, blue = up, green = the subject's left (orthographic projection)."""
    x0, y0, x1, y1 = face.box
    length = POSE_AXIS_LENGTH * max(x1 - x0, y1 - y0)
    centre = np.nanmean(face.landmarks, axis=0)
    start = (int(round(centre[0])), int(round(centre[1])))
    for direction, colour in zip(pose_axes_2d(face.pose), POSE_AXIS_COLOURS):
        end = centre + length * direction
        cv2.arrowedLine(image, start, (int(round(end[0])), int(round(end[1]))), colour, thickness,
                        cv2.LINE_AA, tipLength=0.15)


def _point_colours(face: Face) -> list[tuple[int, int, int]]:
    colours = [GROUP_COLOURS[0]] * face.num_points
    try:
        groups = get_scheme(face.scheme).groups
    except KeyError:
        return colours
    for g, idx in enumerate(groups.values()):
        for i in idx:
            if i < face.num_points:
                colours[i] = GROUP_COLOURS[g % len(GROUP_COLOURS)]
    return colours
