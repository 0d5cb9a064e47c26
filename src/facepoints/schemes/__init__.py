"""Landmark schemes as data: 68 (iBUG/300W), 98 (WFLW), 29 (COFW), 19 (AFLW), 5 (CelebA)."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from .scheme import LandmarkScheme

__all__ = ["LandmarkScheme", "get_scheme", "list_schemes"]

_DATA = "facepoints.schemes.data"


def list_schemes() -> list[str]:
    """Names of the schemes shipped with the package."""
    return sorted(p.name[:-5] for p in resources.files(_DATA).iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def get_scheme(name: str | int) -> LandmarkScheme:
    """A shipped scheme by name (``"ibug68"``, ``"wflw98"``...) or by point count (68, 98, 29, 19, 5)."""
    names = list_schemes()
    if isinstance(name, int) or str(name).isdigit():
        matches = [n for n in names if n.endswith(str(int(name))) and n[-len(str(int(name))) - 1].isalpha()]
        if len(matches) != 1:
            raise KeyError(f"no unique scheme with {name} points; known: {', '.join(names)}")
        name = matches[0]
    if name not in names:
        raise KeyError(f"unknown landmark scheme {name!r}; known: {', '.join(names)}")
    text = resources.files(_DATA).joinpath(f"{name}.json").read_text()
    return LandmarkScheme.from_json(json.loads(text))
