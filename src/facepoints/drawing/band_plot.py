"""Per-frame plot of the motion-band stability benchmark: one column per band, NME and jitter."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .figures import plt, save_figure


def plot_bands(curves: Mapping[str, Mapping[str, np.ndarray]], path: str | Path, title: str) -> Path:
    """Write a PNG with a column per band (``curves[band]`` as from
    :func:`facepoints.evaluation.stability.per_frame_curves`): per-frame mean NME (top) and
    jitter (bottom), raw vs smoothed, in % of the inter-ocular distance."""
    bands = list(curves)
    fig, axes = plt.subplots(2, len(bands), figsize=(3.2 * len(bands), 5.0), dpi=110, sharex=True, squeeze=False)
    for col, band in enumerate(bands):
        c = curves[band]
        frames = np.arange(len(c["nme_raw"]))
        for row, key in enumerate(("nme", "jitter")):
            ax = axes[row, col]
            ax.plot(frames, np.asarray(c[f"{key}_raw"]) * 100, lw=1.0, label="raw")
            ax.plot(frames, np.asarray(c[f"{key}_smoothed"]) * 100, lw=1.4, label="smoothed")
            ax.grid(alpha=0.3)
            ax.set_ylim(bottom=0)
            if col == 0:
                ax.set_ylabel(f"{'NME' if key == 'nme' else 'jitter'} (% inter-ocular)")
            if row == 0:
                ax.set_title(band)
            else:
                ax.set_xlabel("frame")
        axes[0, col].legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
