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
    """One face in one frame of a video, with the same attribute names as :class:`Face`.

    ``landmarks`` are the temporally smoothed points (the ones to display) and ``box`` their
    tight xyxy box; ``raw_landmarks`` the model's unsmoothed points and ``roi`` the box its
    crop was taken from; ``score``, ``sigma``, ``pose``, ``confidence`` and ``scheme`` are the
    model's for this frame (``None`` where the model gives none). ``face`` holds that raw
    :class:`Face`. ``track_id`` stays the same while the face is followed; ``source`` is
    ``"detector"`` on frames where the face was (re)located from a detector box, else
    ``"track"`` (ROI from the previous frame's landmarks); ``age`` counts the frames since the
    track began (0 on its first frame). The JSON Lines output uses the same names.
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
    def roi(self) -> np.ndarray:
        """The xyxy box the model's crop was taken from on this frame."""
        return self.face.box

    @property
    def raw_landmarks(self) -> np.ndarray:
        return self.face.landmarks

    @property
    def score(self) -> float:
        return self.face.score

    @property
    def sigma(self) -> np.ndarray | None:
        """(N, 2) per-point spread in pixels of the raw landmarks, ``None`` for models without it."""
        return self.face.sigma

    @property
    def pose(self) -> np.ndarray | None:
        """(yaw, pitch, roll) degrees, ``None`` for models without a pose branch."""
        return self.face.pose

    @property
    def confidence(self) -> float | None:
        return self.face.confidence

    @property
    def scheme(self) -> str:
        return self.face.scheme

    @property
    def num_points(self) -> int:
        return len(self.landmarks)

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
    ``detector_ran`` (whether the face detector ran on this frame) and ``faces``. Its JSON
    (:meth:`to_dict`, one line per frame in ``facepoints track --json``) uses the same names."""

    index: int
    time: float
    faces: list[TrackedFace] = field(default_factory=list)
    detector_ran: bool = False

    def to_dict(self) -> dict:
        return {"index": self.index, "time": round(float(self.time), 6), "detector_ran": self.detector_ran,
                "faces": [f.to_dict() for f in self.faces]}
