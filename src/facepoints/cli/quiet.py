"""Keeping native libraries' chatter (OpenCV's log, libpng's "libpng error: ...") off the
command line's stderr, where our own one-line error already says what went wrong."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def quiet_opencv_log() -> None:
    """OpenCV logs only errors (its decoders warn about every corrupt file), unless the user
    set ``OPENCV_LOG_LEVEL`` themselves."""
    if "OPENCV_LOG_LEVEL" in os.environ:
        return
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what C code writes to file descriptor 2 to the null device for the duration (the
    command line decodes one file at a time; Python's own ``sys.stderr`` is flushed first)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no stderr to protect
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
