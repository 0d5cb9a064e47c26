"""Plots for the ATPN branches: head-pose error CED and face-confidence precision-recall."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..metrics import ced_curve, failure_rate
from .figures import plt, save_figure


def _save(fig, ax, path: str | Path, title: str) -> Path:
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)


def plot_pose_ced(curves: Mapping[str, np.ndarray], path: str | Path, limit: float = 20.0,
                  threshold: float = 10.0, title: str = "Head pose: cumulative error distribution") -> Path:
    """CED of per-face mean absolute angle errors (degrees), one curve per name; the legend
    shows MAE and FR at ``threshold``."""
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    for label, err in curves.items():
        xs, ys = ced_curve(err, limit)
        ax.plot(xs, ys * 100, lw=2, label=f"{label}: MAE {np.mean(err):.2f} deg, "
                                          f"FR@{threshold:g} {100 * failure_rate(err, threshold):.2f} %")
    ax.axvline(threshold, color="grey", lw=1, ls=":")
    ax.set_xlim(0, limit)
    ax.set_ylim(0, 100)
    ax.set_xlabel("mean absolute error of yaw, pitch, roll (degrees)")
    ax.set_ylabel("faces (%)")
    return _save(fig, ax, path, title)


def plot_precision_recall(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], path: str | Path,
                          title: str = "Face confidence: precision-recall") -> Path:
    """One precision-recall curve per name from (precision, recall, AP)."""
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    for label, (precision, recall, ap) in curves.items():
        recall, precision = np.r_[0.0, recall], np.r_[precision[0], precision]   # start at zero recall
        ax.step(recall * 100, precision * 100, where="pre", lw=2, label=f"{label}: AP {100 * ap:.2f} %")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    ax.set_xlabel("recall (%)")
    ax.set_ylabel("precision (%)")
    return _save(fig, ax, path, title)
