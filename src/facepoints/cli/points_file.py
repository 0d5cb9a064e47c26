"""Reading zero-shot plane points from JSON: a file (``detect --points``, ``plane --points``) or
text (the web API's ``points`` field)."""
from __future__ import annotations

import json
from numbers import Real
from pathlib import Path

import numpy as np

from ..pipeline.files import check_input_file
from ..schemes import as_plane_points

#: a points file holds a few hundred pairs; anything far larger is not one
MAX_BYTES = 10_000_000
EXPECTED = "a list of [x, y], shaped (P, 2), or a mapping name -> [x, y]"


def read_points_file(path: str | Path) -> tuple[list[str] | None, np.ndarray]:
    """Names (``None`` for a list) and (P, 2) float32 plane points from a JSON file holding a
    list of ``[x, y]`` or a mapping ``name -> [x, y]``; ``ValueError`` with one line naming the
    file otherwise (not UTF-8, not JSON, nested or shaped otherwise, too large)."""
    path = check_input_file(path, "JSON file", ValueError)
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"{path}: {path.stat().st_size} bytes is too large for a points file "
                         f"(at most {MAX_BYTES // 1_000_000} MB)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); expected JSON, {EXPECTED}") from None
    return parse_points(text, str(path))


def parse_points(text: str, source: str) -> tuple[list[str] | None, np.ndarray]:
    """Names (``None`` for a list) and (P, 2) float32 plane points from JSON ``text`` (a list of
    ``[x, y]`` or a mapping ``name -> [x, y]``); ``ValueError`` with one line naming ``source``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{source}: nested too deeply; expected {EXPECTED}") from None
    names = None
    if isinstance(data, dict):
        names, data = [str(k) for k in data], list(data.values())
    elif not isinstance(data, list):
        raise ValueError(f"{source}: expected {EXPECTED}")
    for i, point in enumerate(data):
        if not (isinstance(point, list) and len(point) == 2
                and all(isinstance(v, Real) and not isinstance(v, bool) for v in point)):
            label = repr(names[i]) if names else str(i)
            raise ValueError(f"{source}: point {label} is not [x, y] (two numbers); expected {EXPECTED}")
    try:
        return names, as_plane_points(data)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
