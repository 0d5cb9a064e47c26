"""A `LandmarkScheme` for a new point set known only from its annotations (few-shot fine-tuning).

What a shipped scheme states as data is unknown for arbitrary points, so:

* flip permutation: built from ``flip_pairs`` (mirror-image point pairs; unpaired points lie on
  the midline). ``None`` means *unknown*: the identity is stored, and training must not flip
  (fine-tuning turns flip augmentation off), nor should ``Landmarker(flip_test=True)`` be used.
* normalisation (inter-ocular = inter-pupil here): two index groups given as ``interocular``, or
  inferred from the mean shape (``infer_normaliser``): the points left of the face's vertical
  centre line against those right of it -- a face-width scale, not the eye distance.
* names ``p0``, ``p1`` ...; one group holding every point.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .scheme import LandmarkScheme

Groups = tuple[tuple[int, ...], tuple[int, ...]]


def flip_permutation(num_points: int, pairs: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The involution swapping each pair (i, j); other points map to themselves."""
    perm = list(range(num_points))
    seen: set[int] = set()
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"flip pair {tuple(pair)} must have two point indices")
        i, j = (int(v) for v in pair)
        if not (0 <= i < num_points and 0 <= j < num_points) or i == j or {i, j} & seen:
            raise ValueError(f"flip pair ({i}, {j}): indices must be distinct points of 0..{num_points - 1}, "
                             "each in one pair at most")
        seen |= {i, j}
        perm[i], perm[j] = j, i
    return tuple(perm)


def infer_normaliser(mean_shape: np.ndarray) -> Groups:
    """(left, right) index groups for a normaliser: points with mean-shape x < 0 against x > 0
    (beyond 5 % of the half-width); the two points farthest apart when one side is empty."""
    mean = np.asarray(mean_shape, np.float64)
    left = tuple(int(i) for i in np.flatnonzero(mean[:, 0] < -0.05))
    right = tuple(int(i) for i in np.flatnonzero(mean[:, 0] > 0.05))
    if left and right:
        return left, right
    dist = np.linalg.norm(mean[:, None] - mean[None], axis=-1)
    i, j = np.unravel_index(int(np.nanargmax(dist)), dist.shape)
    return (int(i),), (int(j),)


def custom_scheme(name: str, mean_shape: np.ndarray, flip_pairs: Sequence[Sequence[int]] | None = None,
                  interocular: Sequence[Sequence[int]] | None = None) -> LandmarkScheme:
    """A scheme of ``len(mean_shape)`` points (see the module notes for what is assumed)."""
    mean = np.asarray(mean_shape, np.float32)
    n = len(mean)
    if n < 2 or mean.shape != (n, 2) or not np.isfinite(mean).all():
        raise ValueError(f"scheme {name}: need a finite (N, 2) mean shape with N >= 2, got {mean.shape}")
    if interocular is None:
        groups: Groups = infer_normaliser(mean)
        how = "inferred: left-of-centre points against right-of-centre points"
    else:
        groups = _check_groups(interocular, n)
        how = "given"
    flip = "unknown (identity; no flip augmentation or flip test)" if flip_pairs is None else "given"
    return LandmarkScheme(
        name=name, num_points=n, names=tuple(f"p{i}" for i in range(n)), groups={"points": tuple(range(n))},
        flip_permutation=flip_permutation(n, flip_pairs or ()), interocular=groups, interpupil=groups,
        mean_shape=mean,
        description=f"{n} points defined by few-shot annotations; normaliser {how}; flip pairs {flip}.")


def _check_groups(groups: Sequence[Sequence[int]], num_points: int) -> Groups:
    if len(groups) != 2 or not all(len(g) for g in groups):
        raise ValueError("interocular needs two non-empty index groups")
    out = tuple(tuple(int(i) for i in g) for g in groups)
    if any(not 0 <= i < num_points for g in out for i in g):
        raise ValueError(f"interocular indices must be points of 0..{num_points - 1}")
    return out[0], out[1]
