"""Landmark schemes as data: 68 (iBUG/300W), 98 (WFLW), 29 (COFW), 19 (AFLW), 5 (CelebA); points of
the canonical face plane their mean shapes live in (``plane``)."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from ..home import user_schemes_dir
from .plane import along_contour, as_plane_points, interpolate_contour, midpoint, scheme_plane_points
from .scheme import LandmarkScheme

__all__ = ["LandmarkScheme", "get_scheme", "list_schemes", "scheme_plane_points", "midpoint", "along_contour",
           "interpolate_contour", "as_plane_points", "register_scheme", "unregister_scheme"]

_DATA = "facepoints.schemes.data"
_USER_SCHEMES: dict[str, LandmarkScheme] = {}  # register_scheme: e.g. a few-shot model's new points


def list_schemes() -> list[str]:
    """Names of the schemes shipped with the package."""
    return sorted(p.name[:-5] for p in resources.files(_DATA).iterdir() if p.name.endswith(".json"))


def register_scheme(scheme: LandmarkScheme) -> None:
    """Make ``scheme`` available by name in this process (replacing a user scheme of the same
    name), e.g. the new point set of a few-shot fine-tuned model; shipped names cannot be taken."""
    if scheme.name in list_schemes():
        raise ValueError(f"{scheme.name!r} is a shipped landmark scheme; register under another name")
    _USER_SCHEMES[scheme.name] = scheme


def unregister_scheme(name: str) -> None:
    """Forget a scheme added with ``register_scheme`` (no-op for unknown names)."""
    _USER_SCHEMES.pop(name, None)


def get_scheme(name: str | int) -> LandmarkScheme:
    """A registered, shipped or saved (user folder, ``facepoints.home``) scheme by name
    (``"ibug68"``, ``"wflw98"``...), or a shipped one by point count (68, 98, 29, 19, 5)."""
    if isinstance(name, str) and name in _USER_SCHEMES:
        return _USER_SCHEMES[name]
    if isinstance(name, str) and name not in list_schemes():
        saved = user_schemes_dir() / f"{name}.json"
        if saved.is_file():  # a few-shot model's points, saved with it in the user folder
            return LandmarkScheme.from_json(json.loads(saved.read_text()))
    return _shipped_scheme(name)


@lru_cache(maxsize=None)
def _shipped_scheme(name: str | int) -> LandmarkScheme:
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
