"""Outputs that never replace an input: a command collects the files it reads, then checks
every path it is about to write against them (and against its other outputs) before it
writes anything. Paths are compared resolved (symbolic links followed) and, for files that
exist, by device and inode (hard links, case-insensitive file systems)."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class OverwriteError(ValueError):
    """An output path names a file the command reads (or another of its outputs)."""


def _keys(path: Path) -> list[tuple]:
    """Identities of ``path``: its resolved form, plus (device, inode) when it exists."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symbolic-link loop
        resolved = path.absolute()
    keys: list[tuple] = [("path", os.path.normcase(str(resolved)))]
    try:
        st = path.stat()
    except (OSError, ValueError):
        return keys
    return keys + [("inode", st.st_dev, st.st_ino)]


class OutputGuard:
    """The files a command reads; :meth:`claim` refuses an output that is one of them or that
    another output already claimed.

    >>> guard = OutputGuard(["clip.mp4"])
    >>> guard.claim("clip.mp4", "--out")      # OverwriteError: --out clip.mp4 is the input clip.mp4
    """

    def __init__(self, inputs: Iterable[str | Path] = ()) -> None:
        self._inputs: dict[tuple, Path] = {}
        self._outputs: dict[tuple, str] = {}
        for path in inputs:
            self.add_input(path)

    def add_input(self, path: str | Path) -> None:
        path = Path(path)
        for key in _keys(path):
            self._inputs.setdefault(key, path)

    def claim(self, path: str | Path, label: str | None = None) -> Path:
        """``path`` if writing it replaces no input and no earlier claimed output; else
        :class:`OverwriteError` naming both (``label``: how the user named it, e.g. ``--json``)."""
        path = Path(path)
        name = f"{label} {path}" if label else str(path)
        keys = _keys(path)
        for key in keys:
            if key in self._inputs:
                raise OverwriteError(f"{name} is the input {self._inputs[key]}; refusing to write over an input "
                                     "(choose another output)")
            if key in self._outputs:
                raise OverwriteError(f"{name} is also {self._outputs[key]}; give each output its own file")
        for key in keys:
            self._outputs[key] = name
        return path


def check_new_file(path: str | Path, label: str) -> Path:
    """``path`` if a new file can be written there: :class:`OverwriteError` when something
    already exists at ``path`` (a file is never replaced), ``ValueError`` when a folder on
    the way is a file or the folder it would go in cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise OverwriteError(f"{label} {path} is a folder; name a file to write")
    if path.exists() or path.is_symlink():
        raise OverwriteError(f"{label} {path} exists; refusing to replace it (remove it or choose another name)")
    check_folder_writable(path.parent, f"{label} {path}")
    return path


def check_folder_writable(folder: str | Path, label: str) -> None:
    """``ValueError`` unless ``folder`` is, or can be made as, a writable folder (the nearest
    existing one on its way must be a folder this process may write in)."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{label}: {_shown(existing, folder)} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{label}: cannot write in the folder {_shown(existing, folder)} (permission denied)")


def _shown(existing: Path, given: str | Path) -> Path:
    """``existing`` as the user would have named it: relative when ``given`` was."""
    if Path(given).is_absolute():
        return existing
    try:
        return existing.relative_to(Path.cwd())
    except ValueError:
        return existing
