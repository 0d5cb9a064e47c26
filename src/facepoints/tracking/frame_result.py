"""Per-frame tracking results: plain data, never ``None``."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import box_from_points
from ..results import Face


def _rounded(values: np.ndarray, digits: int = 2) -> list:
    """Nested lists of floats rounded to ``digits`` (in float64: float32 would print 105.26000213623047)."""
    return np.round(np.asarray(values, np.float64), digits).tolist()


@dataclass
class TrackedFace:
    """One face in one frame of a video.

    ``face`` is the landmark model's raw output for this frame (``face.box`` is the ROI
    its crop was taken from, ``face.landmarks`` the raw points, plus ``confidence``/``pose``
    /``sigma`` when the model gives them); ``landmarks`` are the temporally smoothed points
    (the ones to display). ``track_id`` stays the same while the face is followed;
    ``source`` is ``"detector"`` on frames where the face was (re)located from a detector
    box, else ``"track"`` (ROI from the previous frame's landmarks); ``age`` counts the
    frames since the track began (0 on its first frame).
    """

    track_id: int
    face: Face
    landmarks: np.ndarray
    source: str = "track"
    age: int = 0

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks, np.float32).reshape(-1, 2)

    @property
    def box(self) -> np.ndarray:
        """Tight xyxy box of the smoothed landmarks."""
        return box_from_points(self.landmarks)

    @property
    def raw_landmarks(self) -> np.ndarray:
        return self.face.landmarks

    @property
    def confidence(self) -> float | None:
        return self.face.confidence

    def to_dict(self) -> dict:
        """JSON-friendly dict: smoothed ``landmarks`` and ``box``, ``raw_landmarks``, ``roi``..."""
        raw = self.face.to_dict()
        out = {"track_id": self.track_id, "source": self.source, "age": self.age,
               "box": _rounded(self.box), "roi": raw["box"], "landmarks": _rounded(self.landmarks),
               "raw_landmarks": _rounded(self.face.landmarks), "confidence": raw.get("confidence"),
               "score": raw["score"], "scheme": raw["scheme"]}
        for key in ("pose", "sigma"):
            if key in raw:
                out[key] = raw[key]
        return out


@dataclass
class FrameResult:
    """The faces of one video frame: ``index`` (0-based, decoding order), ``time`` (seconds),
    ``detector_ran`` (whether the face detector ran on this frame) and ``faces``."""

    index: int
    time: float
    faces: list[TrackedFace] = field(default_factory=list)
    detector_ran: bool = False

    def to_dict(self) -> dict:
        return {"frame": self.index, "time": round(float(self.time), 6), "detector_ran": self.detector_ran,
                "faces": [f.to_dict() for f in self.faces]}
