"""A picture of the canonical face plane with its anchors, for picking zero-shot points."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from .figures import plt

ANCHOR_COLOUR = "tab:blue"
EXTRA_COLOUR = "tab:red"
GRID_STEP = 0.5


def render_plane(plane_points: np.ndarray, labels: Sequence[str] | None = None,
                 extra_points: np.ndarray | Mapping[str, Sequence[float]] | None = None, size: int = 512,
                 path: str | Path | None = None, title: str | None = None) -> np.ndarray:
    """(size, size, 3) uint8 RGB image of the plane (x right, y down, as on a face): grid lines
    every 0.5 with tick labels, ``plane_points`` (N, 2) as dots labelled by ``labels`` (default:
    their indices), ``extra_points`` ((M, 2), or name -> (x, y)) as dots of another colour.
    Written as PNG when ``path`` is given."""
    anchors = np.asarray(plane_points, np.float64).reshape(-1, 2)
    labels = [str(i) for i in range(len(anchors))] if labels is None else [str(v) for v in labels]
    if len(labels) != len(anchors):
        raise ValueError(f"{len(labels)} labels for {len(anchors)} plane points")
    extra_labels, extra = _extra(extra_points)
    fig, ax = plt.subplots(figsize=(size / 100, size / 100), dpi=100)
    limit = _limit(np.concatenate([anchors, extra]))
    ticks = np.arange(-np.floor(limit / GRID_STEP), np.floor(limit / GRID_STEP) + 1) * GRID_STEP
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(limit, -limit)  # y down, as in the image the face comes from
    ax.set_aspect("equal")
    ax.grid(alpha=0.4)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("x", fontsize=7)
    ax.set_ylabel("y (down)", fontsize=7)
    font = max(4.0, min(8.0, size / 90))
    _dots(ax, anchors, labels, ANCHOR_COLOUR, font)
    _dots(ax, extra, extra_labels, EXTRA_COLOUR, font)
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    if path is not None:
        _write_png(image, path)
    return image


def _write_png(image: np.ndarray, path: str | Path) -> None:
    """The rendered pixels as they are (re-saving the figure could lay it out differently)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")


def _extra(extra_points) -> tuple[list[str], np.ndarray]:
    """Labels and (M, 2) coordinates of the extra points (letters when unnamed)."""
    if extra_points is None:
        return [], np.zeros((0, 2))
    if isinstance(extra_points, Mapping):
        return [str(k) for k in extra_points], np.asarray(list(extra_points.values()), np.float64).reshape(-1, 2)
    points = np.asarray(extra_points, np.float64).reshape(-1, 2)
    return [_letters(i) for i in range(len(points))], points


def _letters(i: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def _limit(points: np.ndarray) -> float:
    """Half-width of the view: [-1, 1] with a margin, wider when a point lies outside."""
    finite = points[np.isfinite(points).all(axis=1)]
    extent = float(np.abs(finite).max()) if len(finite) else 1.0
    return max(1.0, extent) + 0.1


def _dots(ax, points: np.ndarray, labels: list[str], colour: str, font: float) -> None:
    if not len(points):
        return
    ax.scatter(points[:, 0], points[:, 1], s=12, color=colour, zorder=3)
    for (x, y), label in zip(points, labels):
        ax.annotate(label, (x, y), xytext=(2, 2), textcoords="offset points", fontsize=font, color=colour)
