"""A second alignment pass for faces turned in-plane (issue 14).

After the detector's roll and one re-centring, a face whose landmarks still show a roll beyond
``min_roll`` degrees (a face lying on its side) is looked at once more: the face detector checks
the landmark frame turned by 0/90/-90/180 degrees (:func:`facepoints.detectors.rotated.upright_roll`),
which catches faces read upside down or sideways (the landmark model's face confidence does
not: it is often sure of a face cropped upside down), and the landmark model then runs twice more
on upright crops, each framed by the previous prediction. Faces within ``min_roll`` are left as
they are, so upright photos cost nothing more.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .decode import DecodedOutput
from .rotation import angle_difference, landmark_roll, upright_box

__all__ = ["realign_turned", "TURN_CHANGE"]

#: a detector's second look that moves the roll by more than this (degrees) replaces it
TURN_CHANGE = 45.0

Run = Callable[[np.ndarray, np.ndarray], DecodedOutput]


def realign_turned(out: DecodedOutput, scheme, frame: Run, final: Run, min_roll: float,
                   relook: Callable[[np.ndarray, float], tuple[float, float]] | None = None,
                   doubt_below: float = 0.5, framing: DecodedOutput | None = None) -> DecodedOutput:
    """``out`` with the faces turned beyond ``min_roll`` re-aligned.

    ``frame`` and ``final`` run the landmark model on (K, 4) upright boxes turned by (K,) degrees
    (``frame``: the network whose landmarks frame a crop; ``final``: the one reported).
    ``relook(upright box, roll)`` gives the detector's (roll, score) for the face (score 0: not
    found); a turn it proposes is kept only if the model's face confidence there is at least
    ``doubt_below`` (``landmarker.DOUBTFUL_CONFIDENCE``) or was already below it. ``framing``: the scheme's landmarks for the same
    crops when ``out`` holds other points (a prompted model); default ``out``."""
    framing = out if framing is None else framing
    rolls = np.asarray(landmark_roll(framing.landmarks, scheme), np.float64).reshape(len(framing.landmarks))
    chosen = np.flatnonzero(np.abs(rolls) > min_roll)
    if not len(chosen):
        return out
    boxes = np.stack([upright_box(framing.landmarks[i], rolls[i]) for i in chosen])
    angles, turned = rolls[chosen].copy(), np.zeros(len(chosen), bool)
    if relook is not None:
        for row, (box, roll) in enumerate(zip(boxes, angles)):
            angle, score = relook(box, float(roll))
            if score > 0 and abs(float(angle_difference(angle, roll))) > TURN_CHANGE:
                angles[row], turned[row] = angle, True
    first = frame(boxes, angles)
    angles = np.asarray(landmark_roll(first.landmarks, scheme), np.float64).reshape(len(chosen))
    second = final(np.stack([upright_box(p, a) for p, a in zip(first.landmarks, angles)]), angles)
    keep = np.ones(len(chosen), bool)
    if out.confidence is not None and second.confidence is not None:
        keep = ~turned | (second.confidence >= doubt_below) | (out.confidence[chosen] < doubt_below)
    return _replace_rows(out, second, chosen[keep], np.flatnonzero(keep))


def _replace_rows(out: DecodedOutput, new: DecodedOutput, rows: np.ndarray, source: np.ndarray) -> DecodedOutput:
    """``out`` with its ``rows`` taken from ``new``'s rows ``source``."""
    def merged(name: str):
        old, fresh = getattr(out, name), getattr(new, name)
        if old is None or fresh is None:
            return old
        old = old.copy()
        old[rows] = fresh[source]
        return old
    return DecodedOutput(merged("landmarks"), merged("pose"), merged("confidence"), merged("sigma"))
