"""Per-frame plot of the video stability benchmark: NME and jitter, raw vs smoothed."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .figures import plt, save_figure


def plot_stability(curves: Mapping[str, np.ndarray], path: str | Path, title: str = "Video stability") -> Path:
    """Write a two-panel PNG: per-frame mean NME (top) and jitter (bottom), raw and smoothed,
    with the frames where the detector ran (share over clips) as grey bars.

    ``curves`` holds ``nme_raw``, ``nme_smoothed``, ``jitter_raw``, ``jitter_smoothed`` and
    ``detector_share``, each (T,) per frame index (fractions, plotted as %)."""
    frames = np.arange(len(curves["nme_raw"]))
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), dpi=120, sharex=True)
    for ax, key, label in ((axes[0], "nme", "NME (inter-ocular, %)"), (axes[1], "jitter", "jitter (inter-ocular, %)")):
        share = np.asarray(curves["detector_share"], float)
        top = np.nanmax([np.nanmax(curves[f"{key}_raw"]), np.nanmax(curves[f"{key}_smoothed"])]) * 100
        ax.bar(frames, share * top, width=1.0, color="0.85", label="detector ran (share of clips)")
        ax.plot(frames, np.asarray(curves[f"{key}_raw"]) * 100, lw=1.2, label="raw")
        ax.plot(frames, np.asarray(curves[f"{key}_smoothed"]) * 100, lw=1.5, label="smoothed")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=7)
    axes[1].set_xlabel("frame")
    axes[0].set_title(title)
    return save_figure(fig, path)
