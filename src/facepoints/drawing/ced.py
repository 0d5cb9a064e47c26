"""Cumulative error distribution plots."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..metrics import ced_curve, summarise
from .figures import plt, save_figure


def ced_label(label: str, nme: np.ndarray, threshold: float = 0.08) -> str:
    """Legend text for one curve; NME/FR/AUC as in the benchmark table (the NME mean skips
    infinite entries, i.e. faces never located, which still count as failures)."""
    s = summarise(nme, threshold)
    return f"{label}: NME {100 * s.nme:.2f} %, FR {100 * s.fr:.2f} %, AUC {s.auc:.3f}"


def plot_ced(curves: Mapping[str, np.ndarray], path: str | Path, threshold: float = 0.08,
             title: str = "Cumulative error distribution", normalisation: str = "inter-ocular") -> Path:
    """Write a CED PNG with one curve per named array of per-face NMEs; the legend shows NME/FR/AUC."""
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    for label, nme in curves.items():
        xs, ys = ced_curve(nme, threshold)
        ax.plot(xs * 100, ys * 100, lw=2, label=ced_label(label, nme, threshold))
    ax.set_xlim(0, threshold * 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"NME ({normalisation}, %)")
    ax.set_ylabel("faces (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)
