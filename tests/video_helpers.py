"""Real encoded videos for the tracking tests: writing, MP4 'faststart' re-ordering, astronaut clips."""
from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

# A 320 x 320 window of skimage's astronaut (public domain) around her face; the face's
# loose box inside it (ASTRONAUT_FACE of conftest.py moved by the window's corner).
WINDOW = (60, 0, 380, 320)
FACE_IN_WINDOW = (115.0, 75.0, 206.0, 167.0)


def astronaut_window(astronaut: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = WINDOW
    return np.ascontiguousarray(astronaut[y0:y1, x0:x1])


def write_video(path: Path, frames_rgb: Iterable[np.ndarray], fps: float = 25.0, fourcc: str = "mp4v") -> int:
    """Encode RGB frames with OpenCV; returns the number written."""
    writer, n = None, 0
    for rgb in frames_rgb:
        if writer is None:
            h, w = rgb.shape[:2]
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
            assert writer.isOpened(), f"cannot write {path}"
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        n += 1
    if writer is not None:
        writer.release()
    return n


def decode_all(path: Path) -> list[np.ndarray]:
    """Every frame cv2 decodes from ``path`` (BGR)."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def probe_codec(path: Path) -> str:
    """The first video stream's codec as the bundled ffmpeg names it ('h264', 'vp9', 'mpeg4')."""
    import imageio_ffmpeg

    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True, timeout=60).stderr
    found = re.search(r"Stream #\S+.*?: Video: (\w+)", info)
    assert found, f"no video stream in {path}:\n{info}"
    return found.group(1)


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, header size, start, end) of the ISO-BMFF boxes in ``data[start:end]``."""
    pos, end = start, len(data) if end is None else end
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        yield kind.decode("latin-1"), header, pos, pos + size
        pos += size


def faststart(data: bytes) -> bytes:
    """The same MP4 with its ``moov`` index moved in front of the media data (chunk offsets
    patched), as ``ffmpeg -movflags faststart`` does: a file cut short then still opens and
    decodes up to the cut, like a partly downloaded or partly copied video."""
    top = list(_boxes(data))
    moov = next(b for b in top if b[0] == "moov")
    moov_bytes = bytearray(data[moov[2]:moov[3]])
    shift = len(moov_bytes)

    def patch(start: int, end: int) -> None:
        for kind, header, s, e in _boxes(moov_bytes, start, end):
            if kind in ("trak", "mdia", "minf", "stbl"):
                patch(s + header, e)
            elif kind in ("stco", "co64"):
                count = struct.unpack(">I", moov_bytes[s + header + 4:s + header + 8])[0]
                fmt, width = (">I", 4) if kind == "stco" else (">Q", 8)
                for k in range(count):
                    at = s + header + 8 + k * width
                    offset = struct.unpack(fmt, moov_bytes[at:at + width])[0]
                    moov_bytes[at:at + width] = struct.pack(fmt, offset + shift)

    patch(moov[1], len(moov_bytes))
    ftyp = next(b for b in top if b[0] == "ftyp")
    rest = b"".join(data[s:e] for kind, _, s, e in top if kind not in ("ftyp", "moov"))
    assert ftyp[2] == 0 and moov == top[-1], "expected ftyp first and moov last (after the media data)"
    return data[:ftyp[3]] + bytes(moov_bytes) + rest
