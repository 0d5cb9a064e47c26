"""Normalised mean error and its normalisers."""
from __future__ import annotations

import numpy as np

from ..schemes import LandmarkScheme

NORMALISATIONS = ("interocular", "interpupil", "box", "diagonal")


def normaliser(target: np.ndarray, scheme: LandmarkScheme, kind: str = "interocular") -> np.ndarray:
    """(M,) normalising distance of (M, N, 2) ground-truth shapes.

    ``interocular``/``interpupil`` use the scheme's point groups; ``box`` is sqrt(w*h) and
    ``diagonal`` the diagonal of the tight ground-truth box.
    """
    gt = np.asarray(target, np.float64)
    if kind in ("interocular", "interpupil"):
        return scheme.normaliser(gt, kind)
    if kind in ("box", "diagonal"):
        wh = np.nanmax(gt, axis=-2) - np.nanmin(gt, axis=-2)
        return np.sqrt(wh[..., 0] * wh[..., 1]) if kind == "box" else np.linalg.norm(wh, axis=-1)
    raise ValueError(f"unknown normalisation {kind!r}; choose from {', '.join(NORMALISATIONS)}")


def per_point_errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(M, N) Euclidean error per point (NaN where the target point is missing)."""
    return np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(target, np.float64), axis=-1)


def nme_per_face(pred: np.ndarray, target: np.ndarray, scheme: LandmarkScheme,
                 kind: str = "interocular", visible: np.ndarray | None = None) -> np.ndarray:
    """(M,) NME of each face: mean point error (over labelled, optionally visible points) / normaliser."""
    err = per_point_errors(pred, target)
    if visible is not None:
        err = np.where(np.asarray(visible, bool), err, np.nan)
    return np.nanmean(err, axis=-1) / normaliser(target, scheme, kind)
