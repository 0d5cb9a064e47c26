"""OpenCV's Viola-Jones Haar cascade face detector (``haarcascade_frontalface_default.xml``).

Availability depends on the OpenCV build:

* ``opencv-python(-headless)`` 4.x has ``cv2.CascadeClassifier`` and ships the cascade
  files in ``cv2.data.haarcascades``;
* OpenCV 5 moved the cascade classifier out of the main modules (to opencv_contrib's
  ``xobjdetect``) and its wheels ship no cascade files: plain ``opencv-python-headless``
  5 has neither, ``opencv-contrib-python-headless`` 5 has the class but no files.

The cascade file is looked up, in order, at the ``cascade`` argument (a path, or a file
name), in the folder named by ``$FACEPOINTS_HAAR_CASCADES``, in ``cv2.data.haarcascades``
and in the usual system folders (Debian's ``opencv-data`` package:
``/usr/share/opencv4/haarcascades``). When the class or the file is missing, creating
the detector raises :class:`DetectorUnavailableError` saying what to install.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .base import (Detection, DetectorUnavailableError, FaceDetector, check_rgb_image,
                   pixel_block_to_xyxy, sort_detections)

__all__ = ["OpenCVHaarDetector", "find_cascade_file"]

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"
ENV_VAR = "FACEPOINTS_HAAR_CASCADES"
SYSTEM_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades",
               "/usr/local/share/opencv4/haarcascades", "/usr/local/share/opencv/haarcascades")


def _search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    data = getattr(cv2, "data", None)
    if data is not None and getattr(data, "haarcascades", None):
        dirs.append(Path(data.haarcascades))
    dirs.extend(Path(d) for d in SYSTEM_DIRS)
    return dirs


def find_cascade_file(cascade: str | os.PathLike = DEFAULT_CASCADE) -> Path:
    """Path of a cascade XML file (an existing path, or a file name searched for)."""
    path = Path(cascade)
    if path.is_file():
        return path
    if path.parent != Path("."):
        raise DetectorUnavailableError(f"{path}: no such cascade file")
    searched = _search_dirs()
    for folder in searched:
        if (folder / path.name).is_file():
            return folder / path.name
    note = (f" (OpenCV {cv2.__version__} wheels ship no cascade files)"
            if not cv2.__version__.startswith(("2", "3", "4")) else "")
    raise DetectorUnavailableError(
        f"cascade file {path.name!r} not found in {', '.join(map(str, searched))}{note}; "
        f"pass cascade=<path>, set ${ENV_VAR} to a folder holding it, install "
        "opencv-python-headless<5 (it ships them in cv2.data), or Debian's opencv-data package")


def _cascade_class():
    cls = getattr(cv2, "CascadeClassifier", None)
    if cls is None:
        raise DetectorUnavailableError(
            f"OpenCV {cv2.__version__} has no cv2.CascadeClassifier: OpenCV 5 moved Haar "
            "cascades to opencv_contrib (xobjdetect). Install opencv-python-headless<5, or "
            "opencv-contrib-python-headless (in place of opencv-python-headless) plus a "
            "cascade file, to use the 'opencv_haar' detector")
    return cls


class OpenCVHaarDetector(FaceDetector):
    """Frontal faces with OpenCV's Haar cascade.

    Parameters: ``scale_factor`` and ``min_neighbors`` as in ``detectMultiScale``;
    ``min_face_size`` (pixels; default: the cascade's 24-px window) is its ``minSize``;
    ``equalize`` applies histogram equalisation to the grey image first; ``cascade`` is a
    cascade file path or name (see the module docstring for the search).

    ``score`` is the cascade's last-stage sum (``levelWeights`` of ``detectMultiScale3``
    with ``outputRejectLevels=True``), higher = more face-like (on 300W faces: median 7,
    5th percentile 3; negative values are possible with ``min_neighbors`` < 5); 1.0 for
    every face when the build lacks ``detectMultiScale3``. Boxes: OpenCV's ``(x, y, w, h)``
    covers pixels ``x .. x + w - 1``, so it becomes ``[x - 0.5, y - 0.5, x + w - 0.5,
    y + h - 0.5]`` (pixel centres at integers).
    """

    name = "opencv_haar"

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_face_size: float | None = None, equalize: bool = False,
                 cascade: str | os.PathLike = DEFAULT_CASCADE) -> None:
        if scale_factor <= 1.0:
            raise ValueError(f"scale_factor must be > 1, got {scale_factor!r}")
        if min_face_size is not None and min_face_size <= 0:
            raise ValueError(f"min_face_size must be positive, got {min_face_size!r}")
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_face_size = min_face_size
        self.equalize = bool(equalize)
        cls = _cascade_class()
        self.cascade_path = find_cascade_file(cascade)
        self._cascade = cls(str(self.cascade_path))
        if self._cascade.empty():
            raise DetectorUnavailableError(f"{self.cascade_path}: not a readable cascade file")
        self._has_scores = hasattr(self._cascade, "detectMultiScale3")

    def detect(self, image: np.ndarray) -> list[Detection]:
        image = check_rgb_image(image)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if self.equalize:
            grey = cv2.equalizeHist(grey)
        size = int(round(self.min_face_size)) if self.min_face_size else 0
        kw = dict(scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(size, size))
        if self._has_scores:
            rects, _, weights = self._cascade.detectMultiScale3(grey, outputRejectLevels=True, **kw)
            scores = np.asarray(weights, np.float64).reshape(-1)
        else:  # pragma: no cover - every current build has detectMultiScale3
            rects = self._cascade.detectMultiScale(grey, **kw)
            scores = np.ones(len(rects))
        rects = np.asarray(rects, np.float64).reshape(-1, 4)
        dets = [Detection(pixel_block_to_xyxy(x, y, x + w - 1, y + h - 1), s)
                for (x, y, w, h), s in zip(rects, scores)]
        return sort_detections(dets, self.min_face_size)

    def __repr__(self) -> str:
        return (f"OpenCVHaarDetector(scale_factor={self.scale_factor}, min_neighbors={self.min_neighbors}, "
                f"min_face_size={self.min_face_size!r}, equalize={self.equalize}, "
                f"cascade={self.cascade_path.name!r})")
