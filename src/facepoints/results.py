"""Result types returned by ``Landmarker``: plain data, never ``None``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Face:
    """One face found in an image.

    ``box``: (4,) float32 xyxy pixels of the box the face was cropped from, in the
    tight-landmark-box convention: the given box, or the detector's box mapped by its
    calibration (``box_source`` names the detector); it is not recomputed from the landmarks,
    whose own tight box is ``facepoints.geometry.box_from_points(face.landmarks)``;
    ``landmarks``: (N, 2) float32 0-based pixel coordinates (pixel centre = integer);
    ``sigma``: (N, 2) float32 per-point, per-axis uncertainty in pixels, or ``None`` when the
    model does not estimate it; ``pose``: (yaw, pitch, roll) degrees or ``None``;
    ``confidence``: the model's own face/non-face probability for the crop (tracking
    branch), or ``None`` for models without one.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray
    scheme: str
    sigma: np.ndarray | None = None
    pose: np.ndarray | None = None
    box_source: str = "given"
    confidence: float | None = None

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, np.float32).reshape(4)
        self.landmarks = np.asarray(self.landmarks, np.float32).reshape(-1, 2)
        if self.sigma is not None:
            self.sigma = np.asarray(self.sigma, np.float32).reshape(-1, 2)
        if self.pose is not None:
            self.pose = np.asarray(self.pose, np.float32).reshape(3)
        self.score = float(self.score)
        if self.confidence is not None:
            self.confidence = float(self.confidence)

    @property
    def num_points(self) -> int:
        return len(self.landmarks)

    def to_dict(self) -> dict:
        """JSON-friendly dict (lists of floats)."""
        out = {"box": [round(float(v), 2) for v in self.box], "score": round(self.score, 4),
               "box_source": self.box_source, "scheme": self.scheme,
               "landmarks": np.round(self.landmarks.astype(np.float64), 2).tolist()}
        if self.sigma is not None:
            out["sigma"] = np.round(self.sigma.astype(np.float64), 3).tolist()
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 4)
        if self.pose is not None:
            out["pose"] = dict(zip(("yaw", "pitch", "roll"), np.round(self.pose.astype(np.float64), 2).tolist()))
        return out


@dataclass
class ImageResult:
    """What ``Landmarker.batch`` yields for one input image, in input order.

    ``index``: the image's position in the input; ``source``: the path as given, or
    ``"<array>"`` / ``"<bytes>"`` / ``"<PIL image>"``; ``faces``: as ``Landmarker.__call__`` returns them;
    ``width`` / ``height``: the decoded image's size; ``error``: a one-line reason when the image
    could not be used (then ``faces`` is empty and the size ``None``): a bad image never stops
    the batch; ``image``: the decoded (H, W, 3) uint8 RGB pixels when asked for
    (``keep_images=True``), else ``None``.
    """

    index: int
    source: str
    faces: list[Face]
    width: int | None = None
    height: int | None = None
    error: str | None = None
    image: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        """Whether the image was read and searched (it may still hold no face)."""
        return self.error is None
