"""Annotated MP4 output: each frame with its tracked faces drawn on it."""
from __future__ import annotations

from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from ..drawing import draw_faces
from ..results import Face
from .frame_result import FrameResult
from .video_source import VideoError

#: MPEG-4 Part 2 in an MP4 container: OpenCV's FFmpeg build always has this encoder
FOURCC = "mp4v"


class AnnotatedVideoWriter:
    """Writes RGB frames with their tracked faces (smoothed landmarks, track id) to a video file.

    The frame size is fixed by the first frame; a later frame of another size raises
    ``VideoError``. Closing finalises the file (an MP4 is only playable once closed)."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self._writer: cv2.VideoWriter | None = None
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
        self._writer.write(cv2.cvtColor(annotate(rgb, result), cv2.COLOR_RGB2BGR))
        self.frames += 1

    def _open(self, size: tuple[int, int]) -> None:
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*FOURCC), self.fps, size)
        if not writer.isOpened():
            raise OSError(f"{self.path}: cannot write a video here (check the folder and the .mp4 suffix)")
        self._writer, self._size = writer, size

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "AnnotatedVideoWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def annotate(rgb: np.ndarray, result: FrameResult) -> np.ndarray:
    """A copy of ``rgb`` with each tracked face drawn (smoothed landmarks) and labelled with its id."""
    shown = [Face(f.box, f.face.score, f.landmarks, f.face.scheme, pose=f.face.pose,
                  confidence=f.face.confidence) for f in result.faces]
    out = draw_faces(rgb, shown)
    scale = max(out.shape[:2]) / 640
    for f in result.faces:
        x0, _, _, y1 = [int(round(v)) for v in f.box]
        cv2.putText(out, f"#{f.track_id}", (x0, y1 + int(14 * max(scale, 1))), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45 * max(scale, 1), (255, 255, 0), max(1, int(round(scale))), cv2.LINE_AA)
    if result.detector_ran:
        cv2.circle(out, (8, 8), 4, (255, 0, 0), -1, cv2.LINE_AA)  # a red dot marks detector frames
    return out
