"""Where a user's own models live between processes: ``FACEPOINTS_HOME`` (default
``$XDG_CACHE_HOME/facepoints``, else ``~/.cache/facepoints``).

``models/`` has the installed registry's layout (``cards/<name>.json``, ``weights/<name>*``) and
``schemes/data/`` the landmark schemes of few-shot models; ``facepoints package`` and
``facepoints finetune`` write there, ``facepoints models`` and ``Landmarker(name)`` read there.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def home() -> Path:
    """The user folder (not created here)."""
    if os.environ.get("FACEPOINTS_HOME"):
        return Path(os.environ["FACEPOINTS_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "facepoints"


def user_registry_dir() -> Path:
    """The user's model registry: ``cards/`` and ``weights/``."""
    return home() / "models"


def user_schemes_dir() -> Path:
    """The landmark schemes of the user's models (``<name>.json``)."""
    return home() / "schemes" / "data"


def check_name(name: str, what: str = "model") -> str:
    """``name`` if it is a plain file-name-safe name (letters, digits, ``_ . -``); ``ValueError`` otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"{name!r} is not a usable {what} name (letters, digits, '_', '.', '-'; "
                         "at most 100, starting with a letter or digit)")
    return name
