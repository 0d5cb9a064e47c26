"""Reading zero-shot plane points from a JSON file (``detect --points``, ``plane --points``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..schemes import as_plane_points


def read_points_file(path: str | Path) -> tuple[list[str] | None, np.ndarray]:
    """Names (``None`` for a list) and (P, 2) float32 plane points from a JSON file holding a
    list of ``[x, y]`` or a mapping ``name -> [x, y]``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from exc
    names = None
    if isinstance(data, dict):
        names, data = [str(k) for k in data], list(data.values())
    elif not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of [x, y] or a mapping name -> [x, y]")
    try:
        return names, as_plane_points(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
