"""``.sigma`` files beside a face's ``.pts``: a teacher model's per-point spread, one ``sx sy`` line
per point in pixels (written by ``facepoints pseudo-label``, read as per-point training weights)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .pts import AnnotationFormatError


def write_sigma(path: str | Path, sigma: np.ndarray) -> None:
    """One ``sx sy`` line per point (pixels)."""
    Path(path).write_text("".join(f"{sx:.4f} {sy:.4f}\n"
                                  for sx, sy in np.asarray(sigma, np.float64).reshape(-1, 2)))


def read_sigma(path: str | Path, num_points: int) -> np.ndarray:
    """(num_points, 2) float32 spreads; ``AnnotationFormatError`` (one line) for a malformed file."""
    path = Path(path)
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        values = np.asarray(rows, dtype=np.float32)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AnnotationFormatError(f"{path}: not a .sigma file (one 'sx sy' line per point)") from exc
    if values.shape != (num_points, 2) or not np.isfinite(values).all() or (values <= 0).any():
        raise AnnotationFormatError(f"{path}: expected {num_points} lines of two positive numbers, got shape "
                                    f"{values.shape}")
    return values
