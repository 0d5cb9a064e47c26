"""Failure rate, area under the CED curve, and the curve itself."""
from __future__ import annotations

import numpy as np


def failure_rate(nme: np.ndarray, threshold: float = 0.08) -> float:
    """Share of faces with NME above ``threshold``."""
    nme = np.asarray(nme, np.float64)
    return float((nme > threshold).mean()) if nme.size else float("nan")


def ced_curve(nme: np.ndarray, threshold: float = 0.08, steps: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: (x in [0, threshold], share of faces with NME <= x)."""
    nme = np.sort(np.asarray(nme, np.float64))
    xs = np.linspace(0.0, threshold, steps + 1)
    ys = np.searchsorted(nme, xs, side="right") / max(len(nme), 1)
    return xs, ys


def auc(nme: np.ndarray, threshold: float = 0.08, steps: int = 1000) -> float:
    """Area under the CED curve up to ``threshold``, divided by ``threshold`` (in [0, 1])."""
    xs, ys = ced_curve(nme, threshold, steps)
    return float(np.trapezoid(ys, xs) / threshold)
