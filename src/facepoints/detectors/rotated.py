"""Faces at any in-plane angle: a detection's roll from its eye keypoints, and a search of
copies of the image turned by 90, 180 and 270 degrees (for detectors trained on upright
faces, which miss or mis-read faces lying on their side or upside down)."""
from __future__ import annotations

import numpy as np

from .base import Detection, FaceDetector, sort_detections
from .nms import non_max_suppression

__all__ = ["detection_roll", "search_rotated_copies", "turn_back", "NMS_IOU"]

#: IoU above which detections of one face from different copies merge
NMS_IOU = 0.3


def detection_roll(detection: Detection) -> float:
    """Roll in degrees (0 upright, positive clockwise on screen) from the first two keypoints
    (the subject's right and left eye, as BlazeFace gives them); 0.0 without keypoints."""
    k = detection.keypoints
    if k is None or len(k) < 2:
        return 0.0
    return float(np.degrees(np.arctan2(float(k[1, 1] - k[0, 1]), float(k[1, 0] - k[0, 0]))))


def turn_back(points: np.ndarray, k: int, width: int, height: int) -> np.ndarray:
    """(..., 2) pixel points of ``np.rot90(image, k)`` mapped to ``image`` (``width`` x ``height``)."""
    p = np.asarray(points, np.float64)
    x, y = p[..., 0], p[..., 1]
    k %= 4
    if k == 0:
        out = (x, y)
    elif k == 1:  # counter-clockwise: copy pixel (x, y) is image pixel (W - 1 - y, x)
        out = (width - 1 - y, x)
    elif k == 2:
        out = (width - 1 - x, height - 1 - y)
    else:
        out = (y, height - 1 - x)
    return np.stack(out, axis=-1)


def search_rotated_copies(detector: FaceDetector, image: np.ndarray) -> list[Detection]:
    """Detections in ``image`` and in its copies turned by 90, 180 and 270 degrees, mapped back
    to ``image`` and merged by NMS (the highest-scoring detection of a face is kept, with its
    keypoints, so a face is read from the copy where it stands most upright). Four detector
    calls."""
    h, w = image.shape[:2]
    boxes, scores, points = [], [], []
    for k in range(4):
        for d in detector.detect(np.ascontiguousarray(np.rot90(image, k))):
            corners = turn_back(d.box.reshape(2, 2), k, w, h)
            boxes.append(np.concatenate([corners.min(0), corners.max(0)]))
            scores.append(d.score)
            kp = d.keypoints if d.keypoints is not None else np.full((2, 2), np.nan)
            points.append(turn_back(kp, k, w, h) if d.keypoints is not None else kp)
    if not boxes:
        return []
    widest = max(len(p) for p in points)
    padded = np.full((len(points), widest, 2), np.nan)
    for i, p in enumerate(points):
        padded[i, :len(p)] = p
    keep_boxes, keep_scores, keep_points = non_max_suppression(
        np.asarray(boxes, np.float32), np.asarray(scores, np.float32), NMS_IOU, weighted=False,
        extras=padded)
    dets = []
    for b, s, p in zip(keep_boxes, keep_scores, keep_points):
        p = p[~np.isnan(p).any(1)]
        dets.append(Detection(b, s, p if len(p) else None))
    return sort_detections(dets)


#: turns tried by :func:`upright_roll`, degrees added to the first estimate
TURNS = (0.0, 90.0, -90.0, 180.0)
#: the face's surroundings that :func:`upright_roll` shows the detector: a square this many
#: times the box's longer side, resampled to ``CHECK_SIZE`` pixels
CHECK_CONTEXT, CHECK_SIZE = 2.0, 192


def upright_roll(detector: FaceDetector, image: np.ndarray, box: np.ndarray, roll: float) -> tuple[float, float]:
    """A second look at a face whose roll is doubtful: its surroundings are shown to the
    detector turned so that a face of roll ``roll`` + each of ``TURNS`` would stand upright; the
    turn whose detection (centre within half the box side of the middle) scores highest wins,
    and its own eye keypoints refine the angle. Returns (roll degrees, that score; 0 when no
    turn finds the face, the roll then unchanged). Four detector calls on small images."""
    import cv2  # noqa: PLC0415 - only this check resamples

    b = np.asarray(box, np.float64)
    side = max(b[2] - b[0], b[3] - b[1])
    centre = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
    scale = CHECK_SIZE / (CHECK_CONTEXT * side)
    half = (CHECK_SIZE - 1) / 2
    best = (roll, 0.0)
    for turn in TURNS:
        angle = roll + turn
        a = np.deg2rad(angle)
        lin = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) * scale
        matrix = np.hstack([lin, (half - lin @ centre)[:, None]])
        crop = cv2.warpAffine(image, matrix, (CHECK_SIZE, CHECK_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        for d in detector.detect(crop):
            if np.hypot(*(d.center - half)) < CHECK_SIZE / CHECK_CONTEXT / 2:
                if d.score > best[1]:
                    best = (float((angle + detection_roll(d) + 180.0) % 360.0 - 180.0), d.score)
                break  # detections come best first
    return best
