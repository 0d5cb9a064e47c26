"""Is a tracked face still a face? Checks that send a track back to the detector."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import box_from_points
from ..results import Face


@dataclass(frozen=True)
class HealthLimits:
    """Thresholds of :func:`track_failure`.

    ``min_confidence``: the face/non-face probability below which a face counts as lost
    (0.7, the tracking-failure threshold of the ATPN thesis, ch. 3); used only when the
    model has a confidence branch. The geometric checks hold for every model, since a
    model without confidence can report a face wherever its crop lands:
    ``min_face_size`` (pixels, the tight box's longer side), ``min_inside`` (share of the
    landmarks inside the frame) and ``max_scale_change`` (box-size ratio between two
    consecutive frames: faces do not grow or shrink by half in one frame; landmarks that
    do have collapsed or exploded). ``max_drift``: box-size ratio to the size the detector
    last confirmed beyond which a track is *suspect*: tracking feeds each result into the
    next crop, so a slightly shrinking (or growing) prediction can compound over frames;
    a suspect track asks for a detector run but, unlike a failed one, is not dropped when
    the detector misses it. ``max_colour_change`` / ``min_layout_similarity``: how much the
    tracked box may change between two consecutive frames (colour-histogram distance, grey
    thumbnail correlation; :mod:`facepoints.tracking.appearance`) before the video counts as
    cut to another face: the track ends and the detector starts a new one. On synthetic
    clips of 300W training faces moving up to 15 px a frame with occluders and mouth
    movement, consecutive frames of one face stayed at <= 0.31 colour change and >= 0.44
    correlation; of 12 cuts to another face, 11 exceeded 0.38 and 7 fell below 0.35, all 12
    one or the other.
    """

    min_confidence: float = 0.7
    min_face_size: float = 12.0
    min_inside: float = 0.5
    max_scale_change: float = 1.5
    max_drift: float = 1.25
    max_colour_change: float = 0.38
    min_layout_similarity: float = 0.35


def box_side(box: np.ndarray) -> float:
    """The longer side of an xyxy box (the scale the crop is built from)."""
    return float(max(box[2] - box[0], box[3] - box[1]))


def track_failure(face: Face, frame_shape: tuple[int, ...], previous_box: np.ndarray | None,
                  limits: HealthLimits) -> str | None:
    """Why ``face`` (the model's output on a tracked ROI) can no longer be trusted, or ``None``."""
    points = face.landmarks
    if not np.isfinite(points).all():
        return "landmarks are not finite"
    if face.confidence is not None and face.confidence < limits.min_confidence:
        return f"face confidence {face.confidence:.2f} < {limits.min_confidence:g}"
    side = box_side(box_from_points(points))
    if side < limits.min_face_size:
        return f"face smaller than {limits.min_face_size:g} px"
    h, w = frame_shape[:2]
    inside = ((points[:, 0] >= -0.5) & (points[:, 0] <= w - 0.5) & (points[:, 1] >= -0.5) & (points[:, 1] <= h - 0.5))
    if inside.mean() < limits.min_inside:
        return "face left the frame"
    if previous_box is not None:
        ratio = side / max(box_side(previous_box), 1e-6)
        if not 1 / limits.max_scale_change <= ratio <= limits.max_scale_change:
            return f"face size changed {ratio:.2f}x in one frame"
    return None


def drift_suspicion(box: np.ndarray, anchor_side: float, limits: HealthLimits) -> str | None:
    """Why a healthy track should be checked by the detector (its size drifted), or ``None``."""
    ratio = box_side(box) / max(anchor_side, 1e-6)
    if not 1 / limits.max_drift <= ratio <= limits.max_drift:
        return f"face size drifted {ratio:.2f}x since the detector last saw it"
    return None
