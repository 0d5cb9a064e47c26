"""Temporal smoothing of one tracked face's landmarks: a One Euro filter with per-point trust."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .one_euro import OneEuroFilter
from .point_trust import PointTrust


@dataclass(frozen=True)
class SmoothingConfig:
    """Parameters of :class:`LandmarkSmoother`.

    ``min_cutoff`` (Hz) and ``beta`` (per face size per second) are the One Euro
    parameters, with speeds measured in face sizes (the longer side of the tight landmark
    box) per second, so they hold for any face size and frame rate. The defaults are the
    grid-search optimum (lowest jitter at most +2 % NME) on 20 synthetic clips of 300W
    *training* faces (``facepoints stability ../shared/data/300W/train.txt --clips 20
    --tune``, see :mod:`facepoints.evaluation.stability`); test faces are kept for the
    report. ``trust`` picks the per-point noise level that sets each point's trust
    (:class:`facepoints.tracking.point_trust.PointTrust`); ``enabled=False`` passes raw
    landmarks through.
    """

    min_cutoff: float = 2.0
    beta: float = 1.0
    d_cutoff: float = 1.0
    trust: str = "auto"
    trust_limits: tuple[float, float] = (0.25, 4.0)
    noise_halflife: float = 0.5
    enabled: bool = True

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


class LandmarkSmoother:
    """Smooths the stream of raw landmarks of one face (create one per track)."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self.reset()

    def reset(self) -> None:
        """Start afresh (a new face, or a track that jumped to a re-detected face)."""
        c = self.config
        self._filter = OneEuroFilter(c.min_cutoff, c.beta, c.d_cutoff)
        self._trust = PointTrust(c.trust, c.trust_limits, c.noise_halflife)
        self._time: float | None = None

    def __call__(self, points: np.ndarray, time: float, sigma: np.ndarray | None = None,
                 confidence: float | None = None) -> np.ndarray:
        """Smoothed (N, 2) float32 landmarks for raw (N, 2) ``points`` seen at ``time`` seconds.

        ``sigma`` ((N, 2) pixels) and ``confidence`` come from the model when it has them."""
        points = np.asarray(points, np.float64)
        if not self.config.enabled:
            return points.astype(np.float32)
        dt = 0.0 if self._time is None else time - self._time
        self._time = time
        scale = max(float(np.ptp(points, axis=0).max()), 1.0)  # the tight box's longer side
        trust = self._trust(points, scale, dt, sigma, confidence)
        return self._filter(points, time, scale, trust).astype(np.float32)
