"""The One Euro filter (Casiez, Roussel & Vogel, CHI 2012), vectorised over points.

A first-order low-pass filter whose cutoff frequency rises with the signal's speed::

    cutoff = min_cutoff + beta * |speed|          (Hz; speed low-passed at d_cutoff)
    alpha  = 1 / (1 + 1 / (2 pi cutoff dt))
    x_hat  = x_hat_prev + alpha * (x - x_hat_prev)

so a still point is smoothed hard (little jitter) and a moving one lightly (little lag).
Two additions for landmarks:

* ``scale``: speeds are divided by it (e.g. the face size in pixels), so ``beta`` means
  the same for a small and a large face;
* ``trust``: a per-point factor on the cutoff. A point trusted twice as much gets twice
  the cutoff (follows its measurements more closely); a point trusted half as much is
  smoothed twice as hard. ``trust=None`` is 1 everywhere.
"""
from __future__ import annotations

import math

import numpy as np


def smoothing_factor(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    """``alpha`` of an exponential smoother with ``cutoff`` Hz at time step ``dt`` seconds."""
    return 1.0 / (1.0 + 1.0 / (2 * math.pi * np.asarray(cutoff, np.float64) * dt))


class OneEuroFilter:
    """Filters a stream of (N, D) arrays (N points of D coordinates) sampled at increasing times.

    ``min_cutoff`` (Hz) sets the smoothing of still points, ``beta`` (per unit of
    ``scale``) how fast the cutoff rises with speed, ``d_cutoff`` (Hz) the smoothing of the
    speed estimate itself.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"need min_cutoff > 0, d_cutoff > 0 and beta >= 0, got "
                             f"{min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next sample passes through unchanged."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @property
    def value(self) -> np.ndarray | None:
        """The last filtered value (``None`` before the first sample)."""
        return None if self._x is None else self._x.copy()

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0,
                 trust: np.ndarray | None = None) -> np.ndarray:
        """Filter sample ``x`` (N, D) taken at time ``t`` seconds; returns the filtered (N, D).

        A 1-D ``x`` is N scalar points. A sample of a new shape restarts the filter."""
        shape = np.shape(x)
        x = np.asarray(x, np.float64).reshape(shape[0] if shape else 1, -1)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.reshape(shape)
        dt = float(t) - self._t
        if not dt > 0:
            raise ValueError(f"sample times must increase: got {t} after {self._t}")
        dx = (x - self._x) / dt
        self._dx = self._dx + smoothing_factor(self.d_cutoff, dt) * (dx - self._dx)
        speed = np.sqrt((self._dx * self._dx).sum(axis=-1, keepdims=True)) / max(float(scale), 1e-9)  # = norm
        cutoff = self.min_cutoff + self.beta * speed
        if trust is not None:
            cutoff = cutoff * np.asarray(trust, np.float64).reshape(-1, 1)
        self._x = self._x + smoothing_factor(cutoff, dt) * (x - self._x)
        self._t = float(t)
        return self._x.reshape(shape).copy()
