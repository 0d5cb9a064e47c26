"""Run the tracker over a whole video source: frames in, per-frame results out."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from tqdm import tqdm

from .frame_result import FrameResult
from .tracker import FaceTracker, TrackerConfig
from .video_source import VideoFrame, VideoInput, VideoSource, open_video

if TYPE_CHECKING:
    from ..landmarker import Landmarker


def track_frames(landmarker: "Landmarker", source: VideoInput, color_order: str | None = None,
                 fps: float | None = None, config: TrackerConfig | None = None, progress: bool = False,
                 max_frames: int | None = None) -> Iterator[tuple[VideoFrame, FrameResult]]:
    """Each decoded frame with its :class:`FrameResult`, in order.

    ``source``: a video path, a webcam index or an iterable of arrays (then ``color_order``
    is required; see :func:`facepoints.tracking.video_source.open_video`). The source is
    opened at once, so a missing or unreadable file raises here, not at the first frame.
    ``max_frames`` stops early (e.g. for a webcam). A stream that breaks off yields what it
    decoded, then raises ``VideoError``."""
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    video = open_video(source, color_order, fps)
    return _run(FaceTracker(landmarker, config), video, progress, max_frames)


def track(landmarker: "Landmarker", source: VideoInput, color_order: str | None = None,
          fps: float | None = None, config: TrackerConfig | None = None, progress: bool = False,
          max_frames: int | None = None) -> Iterator[FrameResult]:
    """The :class:`FrameResult` of each frame (see :func:`track_frames`)."""
    pairs = track_frames(landmarker, source, color_order, fps, config, progress, max_frames)
    return (result for _, result in pairs)


def _run(tracker: FaceTracker, video: VideoSource, progress: bool,
         max_frames: int | None) -> Iterator[tuple[VideoFrame, FrameResult]]:
    total = video.frame_count if max_frames is None else min(max_frames, video.frame_count or max_frames)
    bar = tqdm(total=total, desc="tracking", unit="frame", disable=not progress)
    try:
        for frame in video:
            result = tracker.step(frame.rgb, frame.index, frame.time)
            bar.update(1)
            bar.set_postfix(faces=len(result.faces), refresh=False)
            yield frame, result
            if max_frames is not None and frame.index + 1 >= max_frames:
                break
    finally:
        bar.close()
        video.close()
