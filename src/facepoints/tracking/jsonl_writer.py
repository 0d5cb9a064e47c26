"""Frame-accurate JSON Lines: one line per processed frame, flushed as soon as it is written."""
from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType

from ..pipeline.overwrite import check_new_file
from .frame_result import FrameResult


class JsonlWriter:
    """Writes one :class:`FrameResult` per line (``{"index", "time", "detector_ran", "faces"}``).

    Each line is flushed at once, so a run that stops (an error, a kill) leaves every
    frame processed until then on disk. Standard JSON only (no NaN/Infinity). An existing
    ``path`` is refused (``OverwriteError``), never replaced."""

    def __init__(self, path: str | Path) -> None:
        self.path = check_new_file(path, "JSON Lines output")  # an earlier result is never replaced
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("x", encoding="utf-8")
        self.lines = 0

    def write(self, result: FrameResult) -> None:
        self._file.write(json.dumps(result.to_dict(), allow_nan=False, separators=(",", ":")) + "\n")
        self._file.flush()
        self.lines += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
