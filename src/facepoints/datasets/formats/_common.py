"""Parsing helpers shared by the format readers (errors with file and line, images beside files)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .pts import AnnotationFormatError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# Point counts of layouts that have no shipped scheme json but a well-known name.
EXTRA_SCHEMES = {39: "menpo39"}


def format_error(path: str | Path, line: int | None, message: str) -> AnnotationFormatError:
    """An `AnnotationFormatError` whose text starts with ``file:line:`` (or ``file:``)."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    return AnnotationFormatError(f"{where}: {message}")


def read_text(path: str | Path) -> str:
    """A text file's content; `FileNotFoundError` if absent, `AnnotationFormatError` if binary."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such annotation file")
    try:
        return path.read_text()
    except UnicodeDecodeError as exc:
        raise format_error(path, None, "not a text file") from exc


def data_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) for each non-blank line of a text file."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        line = line.strip()
        if line:
            yield number, line


def parse_floats(tokens: Sequence[str], path: str | Path, line: int, what: str = "value") -> np.ndarray:
    """``tokens`` as float64, or an `AnnotationFormatError` naming the first bad one."""
    try:
        return np.asarray([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise format_error(path, line, f"bad {what} {bad!r}") from None


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_flags(tokens: Sequence[str], path: str | Path, line: int) -> list[bool]:
    """0/1 tokens as bools."""
    if any(t not in ("0", "1") for t in tokens):
        raise format_error(path, line, f"flags must be 0 or 1, got {' '.join(tokens)!r}")
    return [t == "1" for t in tokens]


def image_beside(annotation: str | Path, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> Path | None:
    """The image with the annotation's stem and one of ``suffixes`` (any case), if it exists."""
    annotation = Path(annotation)
    for suffix in suffixes:
        for candidate in (annotation.with_suffix(suffix), annotation.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def scheme_for_count(count: int, path: str | Path | None = None) -> str:
    """Scheme name for a point count: a shipped scheme (68, 98, 29, 19, 5) or ``menpo39``."""
    from facepoints.schemes import get_scheme  # late import: schemes need no dataset code

    if count in EXTRA_SCHEMES:
        return EXTRA_SCHEMES[count]
    try:
        return get_scheme(count).name
    except KeyError:
        raise format_error(path or "?", None, f"no known landmark scheme has {count} points; "
                                               "pass scheme= explicitly") from None


def xywh_to_xyxy(box: Sequence[float], offset: float = 0.0) -> np.ndarray:
    """(x, y, w, h) -> (x0, y0, x1, y1), shifting the corner by ``-offset`` (1 for 1-based)."""
    x, y, w, h = (float(v) for v in box)
    return np.asarray([x - offset, y - offset, x - offset + w, y - offset + h], dtype=np.float32)
