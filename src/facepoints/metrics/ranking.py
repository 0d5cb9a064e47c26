"""Precision-recall curve and average precision for scores of a binary classifier."""
from __future__ import annotations

import numpy as np


def precision_recall(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) at every distinct score threshold, from the highest score down."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, bool)
    if labels.sum() == 0:
        raise ValueError("precision/recall need at least one positive")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]     # last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return tp / (tp + fp), tp / labels.sum()


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """AP = sum_n (R_n - R_{n-1}) P_n over the thresholds (no interpolation, as scikit-learn)."""
    precision, recall = precision_recall(scores, labels)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
