"""Overlays of results on images."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..results import Face
from ..schemes import get_scheme

GROUP_COLOURS = [(255, 80, 80), (80, 200, 80), (80, 160, 255), (255, 200, 40), (200, 80, 255),
                 (40, 220, 220), (255, 120, 200), (160, 160, 160)]


def draw_faces(image_rgb: np.ndarray, faces: Sequence[Face], thickness: int | None = None) -> np.ndarray:
    """A copy of an RGB image with each face's box, landmarks (coloured by group) and, when the
    model gives them, 1-sigma uncertainty ellipses."""
    out = np.ascontiguousarray(image_rgb.copy())
    scale = max(out.shape[:2]) / 640
    t = thickness or max(1, int(round(2 * scale)))
    r = max(1, int(round(2 * scale)))
    for face in faces:
        x0, y0, x1, y1 = [int(round(v)) for v in face.box]
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 255, 0), t, cv2.LINE_AA)
        cv2.putText(out, f"{face.score:.2f}", (x0, max(0, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * max(scale, 1), (0, 255, 0), max(1, t // 2), cv2.LINE_AA)
        colours = _point_colours(face)
        if face.sigma is not None:
            for (x, y), (sx, sy), c in zip(face.landmarks, face.sigma, colours):
                cv2.ellipse(out, (int(round(x)), int(round(y))),
                            (max(1, int(round(sx))), max(1, int(round(sy)))), 0, 0, 360, c, 1, cv2.LINE_AA)
        for (x, y), c in zip(face.landmarks, colours):
            cv2.circle(out, (int(round(x)), int(round(y))), r, c, -1, cv2.LINE_AA)
    return out


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
