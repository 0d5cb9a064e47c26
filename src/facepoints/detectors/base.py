"""Face detector interface: `Detection` and the `FaceDetector` base class.

Box convention (shared with :mod:`facepoints.geometry.boxes` and the landmark files):
continuous pixel coordinates in which pixel *centres* are integers, so pixel ``(i, j)``
covers ``[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]``. A detector that reports the pixel
block ``left..right`` (inclusive) therefore gives ``x0 = left - 0.5``, ``x1 = right + 0.5``:
the box runs along the outer edges of its first and last pixels, its width is the
number of pixels, and its centre is the centre of the block.
"""
from __future__ import annotations

import abc
import functools
import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["Detection", "FaceDetector", "DetectorUnavailableError", "check_rgb_image",
           "pixel_block_to_xyxy"]


class DetectorUnavailableError(RuntimeError):
    """A detector whose backend (library or model file) is not installed or cannot be used."""


@dataclass(frozen=True, eq=False)
class Detection:
    """One detected face: ``box`` is (4,) float32 xyxy in pixels of the input image.

    ``keypoints`` is an optional (K, 2) float32 array of facial points in the same pixel
    coordinates, for detectors that predict them (BlazeFace: right eye, left eye, nose
    tip, mouth centre, right ear tragion, left ear tragion; right/left of the subject),
    else None.
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray | None = None

    def __post_init__(self) -> None:
        box = np.array(self.box, dtype=np.float32).reshape(4)
        box.setflags(write=False)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "score", float(self.score))
        if self.keypoints is not None:
            points = np.array(self.keypoints, dtype=np.float32).reshape(-1, 2)
            points.setflags(write=False)
            object.__setattr__(self, "keypoints", points)

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2], np.float32)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detection):
            return NotImplemented
        if (self.keypoints is None) != (other.keypoints is None):
            return False
        same_points = self.keypoints is None or bool(np.array_equal(self.keypoints, other.keypoints))
        return self.score == other.score and bool(np.array_equal(self.box, other.box)) and same_points

    def __hash__(self) -> int:
        return hash((self.box.tobytes(), self.score))

    def __repr__(self) -> str:
        x0, y0, x1, y1 = (float(v) for v in self.box)
        points = "" if self.keypoints is None else f", keypoints={len(self.keypoints)}"
        return f"Detection(box=[{x0:.1f}, {y0:.1f}, {x1:.1f}, {y1:.1f}], score={self.score:.3f}{points})"


def pixel_block_to_xyxy(left, top, right, bottom) -> np.ndarray:
    """xyxy float32 box covering the inclusive pixel block ``left..right`` x ``top..bottom``."""
    return np.array([left - 0.5, top - 0.5, right + 0.5, bottom + 0.5], dtype=np.float32)


def check_rgb_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as a C-contiguous (H, W, 3) uint8 array; raise ``ValueError`` otherwise.

    Detectors take RGB uint8 images (use :func:`facepoints.pipeline.images.as_rgb` to
    normalise other inputs); this only checks, it does not convert.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("empty image")
    return np.ascontiguousarray(image)


class FaceDetector(abc.ABC):
    """A face detector.

    Subclasses set ``name`` and implement :meth:`detect`, which takes an (H, W, 3) uint8
    RGB image and returns :class:`Detection` s sorted by score, highest first. Boxes are
    in the input image's pixel coordinates (see the module docstring for the convention).

    ``min_face_size`` (pixels, or None for the backend's own limit) is accepted by every
    built-in detector: faces smaller than it are not searched for, where the backend
    allows, and are dropped from the results.

    Threads: every subclass's ``detect`` runs under a lock of its instance, so one detector
    shared by several threads serves one call at a time (dlib's HOG detector and OpenCV's
    cascade corrupt memory or fail when one instance runs in two threads at once); separate
    instances run in parallel.
    """

    name: str = "face_detector"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "detect" in cls.__dict__ and not getattr(cls.__dict__["detect"], "__isabstractmethod__", False):
            cls.detect = _serialised(cls.__dict__["detect"])

    @abc.abstractmethod
    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in ``image``, sorted by score descending."""

    def __call__(self, image: np.ndarray) -> list[Detection]:
        return self.detect(image)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


_LOCK_GUARD = threading.Lock()


_SHARED_LOCK = threading.RLock()  # for instances without a __dict__ (``__slots__`` classes)


def _instance_lock(detector: FaceDetector) -> threading.RLock:
    """The detector instance's own lock, created on first use (re-entrant: a subclass's
    ``detect`` may call its parent's)."""
    attrs = getattr(detector, "__dict__", None)
    if attrs is None:
        return _SHARED_LOCK
    lock = attrs.get("_detect_lock")
    if lock is None:
        with _LOCK_GUARD:
            lock = attrs.setdefault("_detect_lock", threading.RLock())
    return lock


def _serialised(detect):
    @functools.wraps(detect)
    def wrapper(self, *args, **kwargs):
        with _instance_lock(self):
            return detect(self, *args, **kwargs)
    return wrapper


def sort_detections(detections: list[Detection], min_face_size: float | None = None) -> list[Detection]:
    """Drop faces smaller than ``min_face_size`` (either side) and sort by score descending."""
    if min_face_size:
        detections = [d for d in detections if min(d.width, d.height) >= min_face_size]
    return sorted(detections, key=lambda d: -d.score)
