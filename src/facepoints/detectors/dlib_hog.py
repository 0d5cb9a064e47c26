"""dlib's HOG + linear SVM frontal face detector (``dlib.get_frontal_face_detector``)."""
from __future__ import annotations

import math

import numpy as np

from .base import (Detection, DetectorUnavailableError, FaceDetector, check_rgb_image,
                   pixel_block_to_xyxy, sort_detections)

__all__ = ["DlibHogDetector"]

#: side of dlib's frontal-face scanning window: without upsampling, faces smaller than
#: about this many pixels are not found; each upsampling step halves it.
DLIB_WINDOW = 80
#: images whose longer side exceeds this are not upsampled by default (cost x4 per step)
AUTO_UPSAMPLE_MAX_SIDE = 1000


def _import_dlib():
    try:
        import dlib  # noqa: PLC0415 - optional heavy backend, imported on first use
    except ImportError as exc:  # dlib-bin is an optional extra
        raise DetectorUnavailableError(
            "the 'dlib_hog' detector needs dlib: pip install 'facepoints[dlib]'") from exc
    return dlib


class DlibHogDetector(FaceDetector):
    """Frontal faces with dlib's HOG detector.

    Parameters
    ----------
    upsample:
        how many times dlib doubles the image before scanning (``"auto"``: from
        ``min_face_size`` when given, else 1 for images up to 1000 px on the longer
        side and 0 above; each step finds faces half as small, at 4x the cost).
    threshold:
        dlib's ``adjust_threshold``: detections scoring below it are dropped (dlib's own
        default is 0; higher = fewer false positives, lower = more faces).
    min_face_size:
        smallest face side in pixels worth finding (sets ``upsample`` when ``"auto"``,
        and smaller boxes are dropped), or None.

    ``score`` is the SVM margin that ``dlib``'s ``run`` returns (about -0.5 to 3; > 0 is
    dlib's default acceptance). Boxes: dlib rectangles are inclusive pixel indices, so
    ``[left, top, right, bottom]`` becomes ``[left - 0.5, top - 0.5, right + 0.5,
    bottom + 0.5]`` in our continuous coordinates (pixel centres at integers).
    """

    name = "dlib_hog"

    def __init__(self, upsample: int | str = "auto", threshold: float = 0.0,
                 min_face_size: float | None = None) -> None:
        if upsample != "auto" and (isinstance(upsample, bool) or not isinstance(upsample, int)
                                   or upsample < 0):
            raise ValueError(f"upsample must be 'auto' or an int >= 0, got {upsample!r}")
        if min_face_size is not None and min_face_size <= 0:
            raise ValueError(f"min_face_size must be positive, got {min_face_size!r}")
        self.upsample = upsample
        self.threshold = float(threshold)
        self.min_face_size = min_face_size
        self._dlib = _import_dlib()
        self._detector = self._dlib.get_frontal_face_detector()

    def upsample_for(self, image_shape: tuple[int, ...]) -> int:
        """Number of upsampling steps used for an image of this shape."""
        if self.upsample != "auto":
            return int(self.upsample)
        if self.min_face_size is not None:
            return max(0, math.ceil(math.log2(DLIB_WINDOW / self.min_face_size)))
        return 1 if max(image_shape[:2]) <= AUTO_UPSAMPLE_MAX_SIDE else 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        image = check_rgb_image(image)
        rects, scores, _ = self._detector.run(image, self.upsample_for(image.shape), self.threshold)
        dets = [Detection(pixel_block_to_xyxy(r.left(), r.top(), r.right(), r.bottom()), s)
                for r, s in zip(rects, scores)]
        return sort_detections(dets, self.min_face_size)

    def __repr__(self) -> str:
        return (f"DlibHogDetector(upsample={self.upsample!r}, threshold={self.threshold}, "
                f"min_face_size={self.min_face_size!r})")
