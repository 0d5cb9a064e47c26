"""Few-shot curve: test NME against the number of training faces, per mode (fine-tuned vs scratch)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .figures import plt, save_figure


def plot_few_shot(runs: Mapping[str, Mapping[int, Sequence[float]]], path: str | Path,
                  title: str = "Few-shot", metric: str = "NME (inter-ocular, %)") -> Path:
    """Write a PNG with one line per mode through the mean over draws at each face count, and a dot
    per draw. ``runs`` maps a mode label to {face count: [metric per draw, as a fraction]}; the face
    axis is logarithmic, so give "all faces" as its actual count."""
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    ticks: set[int] = set()
    for label, by_size in runs.items():
        sizes = sorted(n for n, values in by_size.items() if len(values))
        if not sizes:
            continue
        ticks.update(sizes)
        means = [100 * float(np.mean(by_size[n])) for n in sizes]
        line, = ax.plot(sizes, means, marker="o", lw=1.8, label=label)
        for n in sizes:
            ax.scatter([n] * len(by_size[n]), 100 * np.asarray(by_size[n], float), s=12, alpha=0.5,
                       color=line.get_color())
        for n, m in zip(sizes, means):
            ax.annotate(f"{m:.2f}", (n, m), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xticks(sorted(ticks), [str(n) for n in sorted(ticks)])
    ax.minorticks_off()
    ax.set_xlabel("training faces")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
