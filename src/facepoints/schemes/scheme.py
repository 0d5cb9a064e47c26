"""The `LandmarkScheme` type: a point layout described as data."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LandmarkScheme:
    """A landmark layout: names, groups, flip permutation, normalisation points, mean shape.

    ``mean_shape`` is (N, 2) float32 in a canonical square frame: the tight box of the
    training faces' landmarks mapped to [-1, 1] on its longer side, centred on the box.
    ``interocular`` and ``interpupil`` each give two index groups; the distance between
    the group means is the normaliser.
    """

    name: str
    num_points: int
    names: tuple[str, ...]
    groups: dict[str, tuple[int, ...]]
    flip_permutation: tuple[int, ...]
    interocular: tuple[tuple[int, ...], tuple[int, ...]]
    interpupil: tuple[tuple[int, ...], tuple[int, ...]]
    mean_shape: np.ndarray | None = field(default=None, compare=False, repr=False)
    description: str = ""

    def __post_init__(self) -> None:
        n = self.num_points
        if len(self.names) != n:
            raise ValueError(f"scheme {self.name}: {len(self.names)} names for {n} points")
        perm = self.flip_permutation
        if sorted(perm) != list(range(n)):
            raise ValueError(f"scheme {self.name}: flip permutation is not a permutation of 0..{n - 1}")
        if any(perm[perm[i]] != i for i in range(n)):
            raise ValueError(f"scheme {self.name}: flip permutation is not an involution")
        if self.mean_shape is not None and np.shape(self.mean_shape) != (n, 2):
            raise ValueError(f"scheme {self.name}: mean shape must be ({n}, 2)")

    def flip(self, points: np.ndarray, width: float) -> np.ndarray:
        """Mirror (..., N, 2) pixel coordinates in an image of ``width`` and re-order points."""
        out = np.array(points, dtype=np.float32, copy=True)
        out[..., 0] = (width - 1) - out[..., 0]
        return out[..., list(self.flip_permutation), :]

    def normaliser(self, points: np.ndarray, kind: str = "interocular") -> np.ndarray:
        """Distance between the two index groups of ``kind`` for (..., N, 2) points."""
        if kind not in ("interocular", "interpupil"):
            raise ValueError(f"unknown scheme normaliser {kind!r}")
        left, right = getattr(self, kind)
        pts = np.asarray(points, dtype=np.float64)
        a = pts[..., list(left), :].mean(axis=-2)
        b = pts[..., list(right), :].mean(axis=-2)
        return np.linalg.norm(a - b, axis=-1)

    def to_json(self) -> dict:
        """A JSON-serialisable dict (the on-disk format of ``schemes/data``)."""
        return {
            "name": self.name,
            "num_points": self.num_points,
            "description": self.description,
            "names": list(self.names),
            "groups": {k: list(v) for k, v in self.groups.items()},
            "flip_permutation": list(self.flip_permutation),
            "interocular": [list(g) for g in self.interocular],
            "interpupil": [list(g) for g in self.interpupil],
            "mean_shape": None if self.mean_shape is None else np.round(self.mean_shape, 5).tolist(),
        }

    @classmethod
    def from_json(cls, data: dict) -> "LandmarkScheme":
        mean = data.get("mean_shape")
        return cls(
            name=data["name"],
            num_points=int(data["num_points"]),
            names=tuple(data["names"]),
            groups={k: tuple(v) for k, v in data["groups"].items()},
            flip_permutation=tuple(data["flip_permutation"]),
            interocular=tuple(tuple(g) for g in data["interocular"]),
            interpupil=tuple(tuple(g) for g in data["interpupil"]),
            mean_shape=None if mean is None else np.asarray(mean, dtype=np.float32),
            description=data.get("description", ""),
        )

    def with_mean_shape(self, mean_shape: np.ndarray) -> "LandmarkScheme":
        """A copy of this scheme with ``mean_shape`` replaced."""
        data = self.to_json()
        data["mean_shape"] = np.asarray(mean_shape, dtype=np.float32).tolist()
        return LandmarkScheme.from_json(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n")
