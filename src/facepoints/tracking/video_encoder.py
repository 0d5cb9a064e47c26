"""Browser-playable video files from RGB frames, through the ffmpeg binary that the
``imageio-ffmpeg`` wheel bundles (H.264 in MP4, VP9 in WebM)."""
from __future__ import annotations

import math
import os
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from .video_source import VideoError

#: output suffix -> (codec name shown to people, ffmpeg output arguments). ``+faststart``
#: puts the MP4 index first so playback starts before the whole file has loaded.
CODECS: dict[str, tuple[str, list[str]]] = {
    ".mp4": ("H.264", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-movflags", "+faststart"]),
    ".webm": ("VP9", ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-deadline", "realtime",
                      "-cpu-used", "8", "-row-mt", "1"]),
}
#: 4:2:0 BT.709 limited range, converted and tagged so: what browsers decode, in the colours they show
COLOUR_FILTERS = ["scale=out_color_matrix=bt709:out_range=tv", "format=yuv420p",
                  "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"]
#: seconds to wait for ffmpeg to finish the file after the last frame
FINISH_TIMEOUT = 600


def video_codec(path: str | Path) -> str:
    """The codec a video written to ``path`` gets ("H.264" or "VP9"), chosen by its suffix;
    ``VideoError`` for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in CODECS:
        raise VideoError(f"{path}: an annotated video is written as .mp4 (H.264) or .webm (VP9), "
                         f"not {suffix or 'a file without a suffix'}")
    return CODECS[suffix][0]


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise ImportError("writing videos needs the imageio-ffmpeg package: pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


class VideoEncoder:
    """Streams RGB uint8 frames of one size into ``path`` through an ffmpeg process.

    An odd width or height is padded by one black column or row (4:2:0 video needs even
    sizes). ``close`` finishes the file; an ffmpeg failure is an ``OSError`` with ffmpeg's
    own last message."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: float) -> None:
        self.path = Path(path)
        self.codec = video_codec(self.path)
        if not (math.isfinite(fps) and fps > 0):
            raise VideoError(f"{self.path}: frame rate must be a positive number, got {fps}")
        w, h = size
        rate = Fraction(fps).limit_denominator(100_000)
        command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(rate), "-i", "pipe:0", "-an"]
        filters = ["pad=ceil(iw/2)*2:ceil(ih/2)*2"] if w % 2 or h % 2 else []
        command += ["-vf", ",".join(filters + COLOUR_FILTERS), "-pix_fmt", "yuv420p"]
        command += CODECS[self.path.suffix.lower()][1] + [str(self.path)]
        self.size = (w, h)
        self._failed = False
        self._log = tempfile.TemporaryFile()
        # its own session: Ctrl-C (sent to the terminal's whole process group) reaches only Python,
        # whose clean-up then finishes the file; ffmpeg would otherwise close it itself and exit 255
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._log, start_new_session=os.name == "posix")

    def write(self, rgb: np.ndarray) -> None:
        """Append one (h, w, 3) uint8 RGB frame."""
        try:
            self._process.stdin.write(np.ascontiguousarray(rgb, np.uint8).tobytes())
        except (BrokenPipeError, ValueError) as exc:  # ffmpeg has exited (or the pipe was closed)
            self._process.wait()
            self._failed = True
            raise OSError(f"{self.path}: ffmpeg stopped writing the video: {self._last_message()}") from exc

    def close(self) -> None:
        """Finish the file (idempotent)."""
        if self._process.stdin is None or self._process.stdin.closed:
            return
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            code = self._process.wait(timeout=FINISH_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise OSError(f"{self.path}: ffmpeg did not finish the video within {FINISH_TIMEOUT} s") from None
        finally:
            message = self._last_message()
            self._log.close()
        if code != 0 and not self._failed:  # a failed write has already said why
            raise OSError(f"{self.path}: ffmpeg could not write the video: {message}")

    def _last_message(self) -> str:
        self._log.seek(0)
        lines = [ln.strip() for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit code {self._process.returncode}"
