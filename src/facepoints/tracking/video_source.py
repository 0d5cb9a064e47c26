"""Frames from a video file, a webcam or any iterator of arrays, as RGB uint8 with their index and time.

``open_video(source)`` accepts

* a path (``str`` or ``Path``) to a video file, decoded with ``cv2.VideoCapture`` (FFmpeg);
* an ``int``: a webcam index;
* any iterable of (H, W[, C]) arrays, whose colour order must be said (``color_order="RGB"``
  or ``"BGR"``) since an array does not carry it.

Bad input raises :class:`VideoError` (a ``ValueError``) with a one-line reason: a missing
file, a folder, an empty file, a file FFmpeg cannot open (not a video, a video without
frames, an MP4 whose index was cut off), a bad frame in an iterator. A stream that breaks
off mid-way (a truncated or corrupt file: fewer frames decoded than the container
announces, or a camera that stops) first yields every frame it did decode and *then* raises
``VideoError``, so a caller that writes results per frame keeps them. Damage that FFmpeg
conceals (it returns the frame with artefacts) is invisible through OpenCV and passes.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import cv2
import numpy as np

from ..pipeline.files import check_input_file
from ..pipeline.images import ImageError, to_rgb_uint8

#: frame rate assumed for timestamps and filter time constants when the source gives none
DEFAULT_FPS = 30.0

class VideoError(ValueError):
    """A video source that cannot be read, or stopped being readable part-way."""


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: ``index`` counts from 0 in decoding order, ``time`` is in seconds
    (the container's presentation time when it has one, else ``index / fps``)."""

    index: int
    time: float
    rgb: np.ndarray


class VideoSource:
    """An iterable of :class:`VideoFrame` with what is known about the stream.

    ``fps`` and ``frame_count`` are ``None`` when unknown (webcams, plain iterators);
    ``name`` is used in messages. Iterate once."""

    def __init__(self, name: str, fps: float | None = None, frame_count: int | None = None) -> None:
        self.name = name
        self.fps = fps
        self.frame_count = frame_count

    @property
    def nominal_fps(self) -> float:
        """``fps``, or ``DEFAULT_FPS`` when the source does not say."""
        return self.fps or DEFAULT_FPS

    def __iter__(self) -> Iterator[VideoFrame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying device or file (also done when iteration ends)."""


class CaptureSource(VideoSource):
    """A file or webcam read through ``cv2.VideoCapture`` (BGR frames converted to RGB)."""

    def __init__(self, capture: cv2.VideoCapture, name: str, is_camera: bool) -> None:
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        super().__init__(name, fps if math.isfinite(fps) and fps > 0 else None,
                         count if count > 0 and not is_camera else None)
        self._capture = capture
        self._is_camera = is_camera
        self.use_container_times = True  # False after an fps override: times are index / fps

    def __iter__(self) -> Iterator[VideoFrame]:
        index = 0
        try:
            while True:
                ok, bgr = self._capture.read()
                if not ok or bgr is None:
                    break
                yield VideoFrame(index, self._time(index), _bgr_frame_to_rgb(bgr, self.name, index))
                index += 1
        finally:
            self.close()
        self._check_end(index)

    def _time(self, index: int) -> float:
        """The frame's presentation time from the container when it gives one, else index / fps."""
        msec = self._capture.get(cv2.CAP_PROP_POS_MSEC) if self.use_container_times else float("nan")
        return msec / 1000 if math.isfinite(msec) and (msec > 0 or index == 0) else index / self.nominal_fps

    def _check_end(self, decoded: int) -> None:
        if decoded == 0:
            raise VideoError(f"{self.name}: no frame could be decoded (a video without frames, or corrupt)")
        if self._is_camera:
            raise VideoError(f"{self.name}: the camera stopped delivering frames after {decoded}")
        if self.frame_count is not None and decoded < self.frame_count:
            raise VideoError(f"{self.name}: decoding stopped after {decoded} of {self.frame_count} frames "
                             "(truncated or corrupt video)")

    def close(self) -> None:
        self._capture.release()


class ArraySource(VideoSource):
    """Frames from any iterable of arrays in a stated colour order."""

    def __init__(self, frames: Iterable[np.ndarray], color_order: str, fps: float | None = None) -> None:
        order = str(color_order).upper()
        if order not in ("RGB", "BGR"):
            raise ValueError(f"color_order must be 'RGB' or 'BGR', got {color_order!r}")
        try:
            count = len(frames)  # type: ignore[arg-type]
        except TypeError:
            count = None
        super().__init__(f"frames ({order})", _check_fps(fps), count)
        self._frames = frames
        self._order = order

    def __iter__(self) -> Iterator[VideoFrame]:
        index = -1
        for index, frame in enumerate(self._frames):
            try:
                rgb = to_rgb_uint8(frame, self._order, source=f"frame {index}")
            except ImageError as exc:
                raise VideoError(str(exc)) from exc
            yield VideoFrame(index, index / self.nominal_fps, rgb)
        if index < 0:
            raise VideoError(f"{self.name}: the iterator gave no frames")


VideoInput = Union[str, Path, int, Iterable[np.ndarray], VideoSource]


def open_video(source: VideoInput, color_order: str | None = None, fps: float | None = None) -> VideoSource:
    """A :class:`VideoSource` for a path, a webcam index or an iterable of arrays.

    ``color_order`` is required for arrays and must be left out (``None``) for files and
    cameras, whose decoder fixes it. ``fps`` overrides the source's frame rate (needed for
    arrays when their rate is not ``DEFAULT_FPS``)."""
    if isinstance(source, VideoSource):
        return source
    if isinstance(source, (str, Path)) or (isinstance(source, int) and not isinstance(source, bool)):
        if color_order is not None:
            raise ValueError("color_order applies to frame arrays only: files and cameras are decoded to RGB")
        opened = open_camera(source) if isinstance(source, int) else open_file(source)
        if fps is not None:
            opened.fps, opened.use_container_times = _check_fps(fps), False
        return opened
    if isinstance(source, np.ndarray) and source.ndim in (2, 3) and source.dtype != object:
        raise TypeError("got one image, not a video: pass a list or iterator of frames")
    if not isinstance(source, Iterable):
        raise TypeError(f"expected a video path, a webcam index or an iterable of frames, got {type(source).__name__}")
    if color_order is None:
        raise ValueError("frame arrays need their colour order: pass color_order='RGB' or 'BGR'")
    return ArraySource(source, color_order, fps)


def open_file(path: str | Path) -> CaptureSource:
    """A video file; raises ``VideoError`` when it is missing or cannot be decoded."""
    path = check_input_file(path, "video", VideoError)
    capture = _capture(str(path))
    if not capture.isOpened():
        capture.release()
        raise VideoError(f"{path}: cannot be decoded as a video (not a video file, a video without "
                         "frames, or one truncated before its index)")
    return CaptureSource(capture, str(path), is_camera=False)


def open_camera(index: int) -> CaptureSource:
    """A webcam by index; raises ``VideoError`` when it cannot be opened."""
    if index < 0:
        raise VideoError(f"camera index must be >= 0, got {index}")
    capture = _capture(index)
    if not capture.isOpened():
        capture.release()
        raise VideoError(f"camera {index}: cannot be opened (no such device, or it is busy)")
    return CaptureSource(capture, f"camera {index}", is_camera=True)


def _capture(target: str | int) -> cv2.VideoCapture:
    # FFmpeg logs its own one-line complaints ("moov atom not found") straight to stderr;
    # a VideoError says the same in context, so FFmpeg is quiet unless the user asks for
    # its log (the variable is read when OpenCV first loads FFmpeg).
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    return cv2.VideoCapture(target)


def _bgr_frame_to_rgb(bgr: np.ndarray, name: str, index: int) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.ndim != 3 or bgr.shape[2] not in (3, 4):
        raise VideoError(f"{name}: frame {index} has unexpected shape {bgr.shape}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB if bgr.shape[2] == 3 else cv2.COLOR_BGRA2RGB)


def _check_fps(fps: float | None) -> float | None:
    if fps is None:
        return None
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps}")
    return fps
