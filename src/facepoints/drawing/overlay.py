"""Overlays of results on images: boxes, landmarks, uncertainty ellipses, pose axes, labels, legend."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..geometry import pose_axes_2d
from ..results import Face
from ..schemes import get_scheme
from . import safe_draw
from .overlay_text import Rect, TextStyle, draw_labels, draw_legend

GROUP_COLOURS = [(255, 80, 80), (80, 200, 80), (80, 160, 255), (255, 200, 40), (200, 80, 255),
                 (40, 220, 220), (255, 120, 200), (160, 160, 160)]
#: RGB colours of the pose axes (as the thesis figures): facing direction, up, subject's left
POSE_AXIS_COLOURS = ((255, 0, 0), (0, 0, 255), (0, 200, 0))
#: pose axis length as a fraction of the face box's longer side
POSE_AXIS_LENGTH = 0.6
BOX_COLOUR = (0, 255, 0)
LABEL_COLOUR = (120, 255, 120)
LEGEND_TEXT = (235, 235, 235)
#: uncertainty ellipses are drawn at k x sigma, k the first of these that makes the median
#: ellipse at least ``ELLIPSE_MIN_RADIUS`` point-marker radii wide (the legend states k)
SIGMA_SCALES = (1, 2, 3, 5)
ELLIPSE_MIN_RADIUS = 1.5


def draw_faces(image_rgb: np.ndarray, faces: Sequence[Face], thickness: int | None = None,
               labels: Sequence[str] | None = None, sigma_scale: float | None = None,
               legend: bool = True) -> np.ndarray:
    """A copy of an RGB image with each face's box, landmarks (coloured by group) and, when the
    model gives them, uncertainty ellipses (k x sigma, see ``sigma_scale``), head-pose axes and a
    label in words ("face 1  det 0.98  conf 1.00": detector score, the model's face probability),
    placed clear of the pose axes. ``labels`` replaces the "face N" names (e.g. track ids);
    ``sigma_scale`` fixes k (default: chosen so the ellipses read); ``legend`` adds a corner
    legend stating k and the axis colours. Any coordinates (huge, NaN) are drawn clipped or skipped."""
    out = np.ascontiguousarray(image_rgb.copy())
    scale = max(out.shape[:2]) / 640
    t = thickness or max(1, int(round(2 * scale)))
    r = max(1, int(round(2 * scale)))
    k = sigma_scale or choose_sigma_scale(faces, r)
    style = TextStyle(out)
    axes_rects: list[Rect | None] = []
    for face in faces:
        safe_draw.rectangle(out, face.box, BOX_COLOUR, t)
        colours = _point_colours(face)
        if face.sigma is not None:
            _draw_spread(out, face, colours, k, max(1, t // 2))
        for (x, y), c in zip(face.landmarks, colours):
            safe_draw.dot(out, x, y, r, c)
        axes_rects.append(draw_pose_axes(out, face, t + 1) if face.pose is not None else None)
    boxes = [_visible_box(out, face) for face in faces]
    axes = [a for a in axes_rects if a is not None]
    texts = [face_label(face, labels[i] if labels is not None else f"face {i + 1}") for i, face in enumerate(faces)]
    placed = draw_labels(out, texts, LABEL_COLOUR, boxes, axes, style)  # last: nothing covers them
    occupied = axes + boxes + placed
    if legend:
        draw_legend(out, legend_lines(faces, k), occupied, style)
    return out


def _draw_spread(image: np.ndarray, face: Face, colours, k: float, thickness: int) -> None:
    """Each point's k x sigma ellipse: a translucent fill (one layer per face) and an outline."""
    axes = float(k) * face.sigma.astype(np.float64)
    points = face.landmarks.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        reach = np.concatenate([points - axes - 2, points + axes + 2])
    reach = reach[np.isfinite(reach).all(axis=1)]
    if len(reach):  # the fill is blended over the ellipses' bounding box only
        h, w = image.shape[:2]
        x0, y0 = np.clip(np.floor(reach.min(axis=0)), 0, [w, h]).astype(int)
        x1, y1 = np.clip(np.ceil(reach.max(axis=0)), 0, [w, h]).astype(int)
        region = image[y0:y1, x0:x1]
        halo = region.copy()
        for (x, y), (ax, ay), c in zip(points - [x0, y0], axes, colours):
            safe_draw.ellipse(halo, x, y, ax, ay, c, -1)
        region[:] = (0.65 * region + 0.35 * halo).astype(image.dtype)
    for (x, y), (ax, ay), c in zip(face.landmarks, axes, colours):
        safe_draw.ellipse(image, x, y, ax, ay, c, thickness)


def face_label(face: Face, name: str) -> str:
    """'face 1  det 0.98  conf 1.00': the detector's score (or 'box given') and the model's face probability."""
    parts = [name, "box given" if face.box_source == "given" else f"det {face.score:.2f}"]
    if face.confidence is not None:
        parts.append(f"conf {face.confidence:.2f}")
    return "  ".join(parts)


def legend_lines(faces: Sequence[Face], k: float) -> list:
    """What the overlay's marks mean, for the marks drawn."""
    if not faces:
        return []
    words = (["det: detector score"] if any(f.box_source != "given" for f in faces) else []) + \
        (["conf: face probability"] if any(f.confidence is not None for f in faces) else [])
    lines = [[("  ".join(words), LEGEND_TEXT)]] if words else []
    if any(f.sigma is not None for f in faces):
        lines.append([(f"ellipses: {k:g} x sigma (point spread)", LEGEND_TEXT)])
    if any(f.pose is not None for f in faces):
        lines.append([("pose: ", LEGEND_TEXT), ("facing ", _legible(POSE_AXIS_COLOURS[0])),
                      ("up ", _legible(POSE_AXIS_COLOURS[1])), ("subject's left", _legible(POSE_AXIS_COLOURS[2]))])
    return lines


def choose_sigma_scale(faces: Sequence[Face], radius: float) -> float:
    """The first k of ``SIGMA_SCALES`` for which the most certain face's median k x sigma is
    ``ELLIPSE_MIN_RADIUS`` point-marker radii (so its ellipses read; less certain faces show larger)."""
    medians = []
    for f in faces:
        if f.sigma is not None:
            spread = f.sigma.astype(np.float64).mean(axis=1)
            spread = spread[np.isfinite(spread) & (spread > 0)]
            if len(spread):
                medians.append(float(np.median(spread)))
    if not medians:
        return 1
    return next((k for k in SIGMA_SCALES if k * min(medians) >= ELLIPSE_MIN_RADIUS * radius), SIGMA_SCALES[-1])


def draw_pose_axes(image: np.ndarray, face: Face, thickness: int = 2) -> Rect | None:
    """Draw ``face.pose`` in place as three arrows from the face centre (the landmarks' mean):
    red = facing direction, blue = up, green = the subject's left (orthographic projection).
    Returns the rectangle the arrows cover (``None`` when nothing could be drawn)."""
    points = face.landmarks[np.isfinite(face.landmarks).all(axis=1)]
    if not len(points) or not np.isfinite(face.pose).all():
        return None
    x0, y0, x1, y1 = face.box.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        side = max(x1 - x0, y1 - y0)
    if not np.isfinite(side):
        side = float(np.ptp(points, axis=0).max())
    centre = points.astype(np.float64).mean(axis=0)
    ends = centre + POSE_AXIS_LENGTH * side * pose_axes_2d(face.pose).astype(np.float64)
    for end, colour in zip(ends, POSE_AXIS_COLOURS):
        safe_draw.arrow(image, centre, end, colour, thickness)
    h, w = image.shape[:2]
    corners = np.clip(np.vstack([centre, ends]), [0, 0], [w, h])
    grow = 3 * thickness
    return (corners[:, 0].min() - grow, corners[:, 1].min() - grow, corners[:, 0].max() + grow,
            corners[:, 1].max() + grow)


def _visible_box(image: np.ndarray, face: Face) -> Rect:
    """The face box clamped to the image (its finite landmarks' box when the box is not finite)."""
    h, w = image.shape[:2]
    box = face.box.astype(np.float64)
    if not np.isfinite(box).all():
        points = face.landmarks[np.isfinite(face.landmarks).all(axis=1)]
        box = np.r_[points.min(0), points.max(0)] if len(points) else np.zeros(4)
    x0, x1 = np.clip(box[[0, 2]], 0, w)
    y0, y1 = np.clip(box[[1, 3]], 0, h)
    return float(x0), float(y0), float(x1), float(y1)


def _legible(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """A colour lightened enough to read on a dark plate."""
    return tuple(int(c + (255 - c) * 0.45) for c in colour)


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
