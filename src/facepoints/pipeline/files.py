"""Checks shared by every reader of user files (images, videos)."""
from __future__ import annotations

from pathlib import Path


def check_input_file(path: str | Path, kind: str, error: type[Exception]) -> Path:
    """``path`` as a ``Path`` if it is an existing, non-empty file; else ``error`` with a one-line
    reason naming the path (``kind`` is what was expected: "image", "video")."""
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: no such file")
    if path.is_dir():
        raise error(f"{path}: is a folder, not {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
    if path.stat().st_size == 0:
        raise error(f"{path}: empty file")
    return path
