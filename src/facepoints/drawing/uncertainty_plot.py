"""Is sigma informative? Error against predicted sigma, and sigma of occluded vs visible points."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .figures import plt, save_figure


def plot_sigma_reliability(groups: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | Path,
                           bins: int = 10, title: str = "Uncertainty", calibrated: float = 1.0) -> Path:
    """Write a two-panel PNG. Left: mean point error per sigma decile against that decile's mean
    sigma, one line per group, with the line error = ``calibrated`` x sigma, where a calibrated
    model's points lie (``models.MEAN_RADIUS_PER_SPREAD``); above it the model is over-confident.
    Right: the distribution of sigma per group (log scale).

    ``groups`` maps a label (e.g. "clean", "occluded copy: visible points") to ``(errors,
    sigmas)``: flat arrays of per-point errors and sigmas in the same unit (e.g. fractions of the
    inter-ocular distance, plotted as %); non-finite entries are skipped."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    top = 0.0
    for label, (errors, sigmas) in groups.items():
        err, sig = np.asarray(errors, float).ravel(), np.asarray(sigmas, float).ravel()
        ok = np.isfinite(err) & np.isfinite(sig) & (sig > 0)
        err, sig = err[ok] * 100, sig[ok] * 100
        if not err.size:
            continue
        edges = np.unique(np.quantile(sig, np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, sig, side="right") - 1, 0, len(edges) - 2)
        filled = [b for b in range(len(edges) - 1) if (which == b).any()]
        mean_sig = [sig[which == b].mean() for b in filled]
        mean_err = [err[which == b].mean() for b in filled]
        left.plot(mean_sig, mean_err, marker="o", lw=1.5, label=f"{label} (n={err.size})")
        right.hist(sig, bins=np.geomspace(sig.min(), sig.max(), 40), histtype="step", lw=1.5, density=True,
                   label=f"{label}: mean {sig.mean():.2f} %")
        top = max(top, max(mean_sig), max(mean_err))
    left.plot([0, top / calibrated], [0, top], color="0.6", ls="--", lw=1,
              label=f"calibrated: error = {calibrated:.2f} x sigma")
    left.set_xlabel("predicted sigma (inter-ocular, %), decile means")
    left.set_ylabel("mean point error (inter-ocular, %)")
    left.set_title(f"{title}: error vs sigma")
    right.set_xscale("log")
    right.set_xlabel("predicted sigma (inter-ocular, %)")
    right.set_ylabel("density")
    right.set_title("sigma per point")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path)
