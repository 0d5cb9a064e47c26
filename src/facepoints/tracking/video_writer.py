"""Annotated video output (H.264 MP4 or VP9 WebM): each frame with its tracked faces drawn on it."""
from __future__ import annotations

from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from ..drawing import draw_faces
from ..pipeline.overwrite import check_new_file
from ..results import Face
from .frame_result import FrameResult
from .video_encoder import VideoEncoder, video_codec
from .video_source import VideoError


class AnnotatedVideoWriter:
    """Writes RGB frames with their tracked faces (smoothed landmarks, track id) to a video file
    that browsers play: ``.mp4`` is H.264 (yuv420p), ``.webm`` is VP9; another suffix raises
    ``VideoError``; an existing ``path`` is refused (``OverwriteError``), never replaced. Encoding is done
    by the ffmpeg binary bundled with ``imageio-ffmpeg``.

    The frame size is fixed by the first frame; a later frame of another size raises
    ``VideoError``. Closing finalises the file (an MP4 is only playable once closed)."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.codec = video_codec(self.path)
        check_new_file(self.path, "video output")  # an earlier result is never replaced
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self._writer: VideoEncoder | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, rgb: np.ndarray, result: FrameResult) -> None:
        """Draw ``result`` on ``rgb`` and append it."""
        h, w = rgb.shape[:2]
        if self._writer is None:
            self._open((w, h))
        elif (w, h) != self._size:
            raise VideoError(f"frame {result.index} is {w}x{h}, but {self.path} is being written at "
                             f"{self._size[0]}x{self._size[1]}")
        self._writer.write(annotate(rgb, result))
        self.frames += 1

    def _open(self, size: tuple[int, int]) -> None:
        self._writer, self._size = VideoEncoder(self.path, size, self.fps), size

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def __enter__(self) -> "AnnotatedVideoWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def annotate(rgb: np.ndarray, result: FrameResult) -> np.ndarray:
    """A copy of ``rgb`` with each tracked face drawn (smoothed landmarks), labelled "track N" with
    its detector score and face probability; a red dot in the corner marks detector frames."""
    shown = [Face(f.box, f.face.score, f.landmarks, f.face.scheme, pose=f.face.pose, box_source=f.face.box_source,
                  confidence=f.face.confidence) for f in result.faces]
    out = draw_faces(rgb, shown, labels=[f"track {f.track_id}" for f in result.faces])
    if result.detector_ran:
        cv2.circle(out, (8, 8), 4, (255, 0, 0), -1, cv2.LINE_AA)  # a red dot marks detector frames
    return out
