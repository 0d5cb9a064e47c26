"""Is a model's per-point uncertainty informative? Sigma on occluded vs visible points, and its
rank correlation with the error."""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from ..schemes import LandmarkScheme, get_scheme
from .nme import normaliser, per_point_errors


def normalised_point_errors(pred: np.ndarray, gt: np.ndarray, scheme: LandmarkScheme | str,
                            kind: str = "interocular") -> np.ndarray:
    """(M, N) point errors of (M, N, 2) shapes divided by each face's normaliser ``kind``."""
    scheme = get_scheme(scheme) if isinstance(scheme, str) else scheme
    return per_point_errors(pred, gt) / normaliser(gt, scheme, kind)[..., None]


def point_sigma(sigma: np.ndarray) -> np.ndarray:
    """(F, N) per-point sigma; an (F, N, 2) per-axis sigma is reduced to the root mean square
    of its two axes, sqrt((sx^2 + sy^2) / 2), i.e. the per-axis sigma of an isotropic Gaussian
    with the same expected squared error."""
    s = np.asarray(sigma, np.float64)
    if s.ndim == 3 and s.shape[-1] == 2:
        return np.sqrt((s ** 2).mean(-1))
    if s.ndim != 2:
        raise ValueError(f"sigma must be (F, N) or (F, N, 2), got shape {s.shape}")
    return s


def sigma_report(errors: np.ndarray, sigma: np.ndarray, occluded: np.ndarray | None = None) -> dict:
    """Summary of how sigma relates to occlusion and to error, over points where both are finite.

    ``errors`` (F, N) per-point errors (any unit, e.g. ``normalised_point_errors``), ``sigma``
    (F, N) or (F, N, 2) (see ``point_sigma``), ``occluded`` (F, N) bool or None (all visible).
    Keys: ``points``, ``occluded_points``; ``sigma_occluded``, ``sigma_visible`` (mean sigma) and
    ``sigma_ratio`` (occluded / visible); ``error_occluded``, ``error_visible`` (mean error);
    ``spearman`` and ``spearman_visible`` (rank correlation of error and sigma over all / visible
    points). With per-axis sigma also ``sqdu_occluded``, ``sqdu_visible``, ``sqdu_ratio``: the
    mean square root of the covariance determinant, sigma_x * sigma_y (thesis table 5.6; an
    area, so its ratio is about the square of the sigma ratio). A value is None where its points
    are missing or constant.
    """
    err = np.asarray(errors, np.float64)
    sig = point_sigma(sigma)
    occ = np.zeros(err.shape, bool) if occluded is None else np.asarray(occluded, bool)
    if not err.shape == sig.shape == occ.shape:
        raise ValueError(f"shapes differ: errors {err.shape}, sigma {sig.shape}, occluded {occ.shape}")
    ok = np.isfinite(err) & np.isfinite(sig)
    vis, hid = ok & ~occ, ok & occ
    s_occ, s_vis = _mean(sig[hid]), _mean(sig[vis])
    extra = {}
    if np.ndim(sigma) == 3:
        sqdu = np.asarray(sigma, np.float64).prod(-1)
        q_occ, q_vis = _mean(sqdu[hid]), _mean(sqdu[vis])
        extra = {"sqdu_occluded": q_occ, "sqdu_visible": q_vis,
                 "sqdu_ratio": q_occ / q_vis if q_occ is not None and q_vis else None}
    return {
        "points": int(ok.sum()),
        "occluded_points": int(hid.sum()),
        "sigma_occluded": s_occ,
        "sigma_visible": s_vis,
        "sigma_ratio": s_occ / s_vis if s_occ is not None and s_vis else None,
        "error_occluded": _mean(err[hid]),
        "error_visible": _mean(err[vis]),
        "spearman": _spearman(err[ok], sig[ok]),
        "spearman_visible": _spearman(err[vis], sig[vis]),
        **extra,
    }


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)
