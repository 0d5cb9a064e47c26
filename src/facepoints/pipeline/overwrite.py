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
