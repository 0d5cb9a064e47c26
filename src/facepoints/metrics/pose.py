"""Head-pose metrics (thesis eq. 3.9): per-angle and mean absolute error, failure rate at 10 degrees."""
from __future__ import annotations

import numpy as np

from .curves import auc, failure_rate


def angle_errors(pred_deg: np.ndarray, target_deg: np.ndarray) -> np.ndarray:
    """(K, 3) absolute angle differences in degrees, wrapped to [0, 180]."""
    diff = np.abs(np.asarray(pred_deg, np.float64) - np.asarray(target_deg, np.float64)) % 360.0
    return np.minimum(diff, 360.0 - diff)


def pose_summary(pred_deg: np.ndarray, target_deg: np.ndarray, threshold: float = 10.0) -> dict:
    """Yaw / pitch / roll MAE, their mean (eq. 3.9), FR (share of faces whose mean error exceeds
    ``threshold`` degrees) and the CED AUC to ``threshold``; all in degrees except FR and AUC."""
    err = angle_errors(pred_deg, target_deg)
    per_face = err.mean(axis=1)
    return {"yaw": float(err[:, 0].mean()), "pitch": float(err[:, 1].mean()), "roll": float(err[:, 2].mean()),
            "mae": float(per_face.mean()), f"fr_{threshold:g}": failure_rate(per_face, threshold),
            f"auc_{threshold:g}": auc(per_face, threshold), "faces": int(len(per_face))}
