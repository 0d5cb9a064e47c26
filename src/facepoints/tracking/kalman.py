"""A constant-velocity Kalman filter over independent scalar channels (vectorised).

Each channel's state is its value and its rate; between samples the rate drifts as white
acceleration noise of spectral density ``q`` (units² / s³), and each sample measures the
value with noise variance ``r`` (units²). Unlike an exponential (or One Euro) low-pass,
a signal moving at a constant rate comes out without lag once the rate is learnt, so the
filter can smooth a moving head as hard as a still one; the ratio ``q / r`` alone sets how
hard (small: smooth, slow to follow a change of speed; large: close to the raw samples).
"""
from __future__ import annotations

import numpy as np


class ConstantVelocityKalman:
    """Filters a stream of (C,) samples at increasing times; ``q`` and ``r`` may change per call."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next sample passes through unchanged."""
        self._x: np.ndarray | None = None   # (C,) value
        self._v: np.ndarray | None = None   # (C,) rate
        self._p: tuple[np.ndarray, ...] | None = None   # (C,) each: var x, cov xv, var v
        self._t: float | None = None

    @property
    def rate(self) -> np.ndarray | None:
        """The current rate estimate (units / s), ``None`` before the first sample."""
        return None if self._v is None else self._v.copy()

    def __call__(self, z: np.ndarray, t: float, q: np.ndarray | float, r: np.ndarray | float) -> np.ndarray:
        """Filter sample ``z`` (C,) taken at ``t`` seconds; returns the filtered value (C,)."""
        z = np.asarray(z, np.float64).ravel()
        q = np.asarray(q, np.float64) + np.zeros_like(z)  # scalar or (C,): (C,)
        r = np.asarray(r, np.float64) + np.zeros_like(z)
        if self._x is None or self._x.shape != z.shape:
            self._x, self._v, self._t = z.copy(), np.zeros_like(z), float(t)
            # unknown rate: a wide prior lets the first frames learn it
            self._p = (r, np.zeros_like(z), r * 1e4)
            return z.copy()
        dt = float(t) - self._t
        if not dt > 0:
            raise ValueError(f"sample times must increase: got {t} after {self._t}")
        self._t = float(t)
        pxx, pxv, pvv = self._p
        # predict
        x = self._x + dt * self._v
        pxx = pxx + 2 * dt * pxv + dt * dt * pvv + q * dt ** 3 / 3
        pxv = pxv + dt * pvv + q * dt ** 2 / 2
        pvv = pvv + q * dt
        # update
        s = pxx + r
        kx, kv = pxx / s, pxv / s
        innovation = z - x
        self._x = x + kx * innovation
        self._v = self._v + kv * innovation
        self._p = ((1 - kx) * pxx, (1 - kx) * pxv, pvv - kv * pxv)
        return self._x.copy()
