"""Video: landmarks over video files, webcams and frame iterators (ATPN tracking mode).

>>> lm = facepoints.Landmarker()
>>> for result in lm.track("clip.mp4"):          # or a webcam index, or frames + color_order
...     for face in result.faces:
...         face.track_id, face.landmarks          # smoothed; face.raw_landmarks unsmoothed

This layer sits above the facade (:class:`facepoints.Landmarker`) and uses it for
detection and landmarks; ``Landmarker.track`` imports it lazily.
"""
from .frame_result import FrameResult, TrackedFace
from .health import HealthLimits
from .jsonl_writer import JsonlWriter
from .kalman import ConstantVelocityKalman
from .one_euro import OneEuroFilter
from .point_trust import PointTrust, ResidualNoise
from .session import track, track_frames
from .smoothing import PRESETS, LandmarkSmoother, SmoothingConfig, smoothing_preset
from .tracker import FaceTracker, TrackerConfig
from .video_source import DEFAULT_FPS, VideoError, VideoFrame, VideoSource, open_video

__all__ = ["FrameResult", "TrackedFace", "HealthLimits", "JsonlWriter", "ConstantVelocityKalman", "OneEuroFilter",
           "PointTrust", "PRESETS", "smoothing_preset",
           "ResidualNoise", "track", "track_frames", "LandmarkSmoother", "SmoothingConfig", "FaceTracker",
           "TrackerConfig", "DEFAULT_FPS", "VideoError", "VideoFrame", "VideoSource", "open_video",
           "AnnotatedVideoWriter", "annotate"]


def __getattr__(name: str):  # the video writer draws with facepoints.drawing (matplotlib): loaded on first use
    if name in ("AnnotatedVideoWriter", "annotate"):
        from . import video_writer

        return getattr(video_writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
