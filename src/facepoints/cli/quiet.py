"""Keeping native libraries' chatter (OpenCV's log, libpng's "libpng error: ...") off the
command line's stderr, where our own one-line error already says what went wrong."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TextIO
from contextlib import contextmanager


def quiet_opencv_log() -> None:
    """OpenCV logs only errors (its decoders warn about every corrupt file), unless the user
    set ``OPENCV_LOG_LEVEL`` themselves."""
    if "OPENCV_LOG_LEVEL" in os.environ:
        return
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@contextmanager
def native_stderr_silenced() -> Iterator[TextIO]:
    """Send what C code writes to file descriptor 2 to the null device for the duration (decoders
    running in worker threads; Python's own ``sys.stderr`` is flushed first and goes there too).
    Yields a text stream on the real stderr, for the command's own lines and progress bar."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no stderr to protect
        yield sys.stderr
        return
    # our own lines: to sys.stderr unless it writes to descriptor 2 (then to a copy of the real one)
    own = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace") \
        if _writes_to_fd2(sys.stderr) else None
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield own or sys.stderr
    finally:
        if own is not None:
            own.close()
        os.dup2(saved, 2)
        os.close(saved)


def _writes_to_fd2(stream: object) -> bool:
    try:
        return stream.fileno() == 2
    except (OSError, ValueError, AttributeError):
        return False
