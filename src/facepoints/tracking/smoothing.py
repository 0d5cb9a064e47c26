"""Temporal smoothing of one tracked face's landmarks: a One Euro filter with per-point trust."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..geometry import apply_affine, fit_similarity, invert_affine
from .one_euro import OneEuroFilter
from .point_trust import PointTrust

MODES = ("points", "rigid_shape")


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

    ``mode="rigid_shape"`` splits each frame into the face's similarity motion (fitted to
    all points, so its noise is already averaged over them) and its shape in a fixed face
    frame; the motion is filtered with ``min_cutoff``/``beta``, the shape (which changes
    only with expression) with ``shape_cutoff``/``shape_beta`` and the per-point trust.
    ``mode="points"`` filters every point on its own.

    Defaults (tuning on training clips, final ``atpn_lite0_68`` weights): rigid_shape with
    motion ``min_cutoff`` 3 Hz / ``beta`` 10 beat per-point filtering (jitter 42.8 % vs 56.3 %
    of raw at <= +2 % NME). The synthetic clips hold a fixed expression, so the search
    favours the lowest shape cutoff; ``shape_cutoff`` is set to 1 Hz instead of the grid's
    0.25 Hz (jitter 44.2 % vs 42.8 %) so that real expressions (a mouth opening) do not lag.
    """

    min_cutoff: float = 3.0
    beta: float = 10.0
    d_cutoff: float = 1.0
    trust: str = "auto"
    trust_limits: tuple[float, float] = (0.25, 4.0)
    noise_halflife: float = 0.5
    enabled: bool = True
    mode: str = "rigid_shape"
    shape_cutoff: float = 1.0
    shape_beta: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"smoothing mode must be one of {MODES}, got {self.mode!r}")

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
        self._shape_filter = OneEuroFilter(c.shape_cutoff, c.shape_beta, c.d_cutoff)
        self._trust = PointTrust(c.trust, c.trust_limits, c.noise_halflife)
        self._time: float | None = None
        self._reference: np.ndarray | None = None

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
        if self.config.mode == "points":
            return self._filter(points, time, scale, trust).astype(np.float32)
        return self._rigid_shape(points, time, scale, trust).astype(np.float32)

    def _rigid_shape(self, points: np.ndarray, time: float, scale: float, trust: np.ndarray | None) -> np.ndarray:
        """Filter the similarity motion and the face-frame shape separately, then recompose."""
        if self._reference is None or len(self._reference) != len(points):
            self._reference = points.copy()
        ref = self._reference
        motion = fit_similarity(ref, points)  # reference frame -> this frame
        shape = apply_affine(invert_affine(motion), points).astype(np.float64)
        ref_scale = max(float(np.ptp(ref, axis=0).max()), 1.0)
        shape = self._shape_filter(shape, time, ref_scale, trust)
        # motion as two "points" in pixels: the moved reference centre and the linear part x size
        centre = ref.mean(axis=0)
        moved = motion[:, :2] @ centre + motion[:, 2]
        linear = np.array([motion[0, 0], motion[1, 0]]) * ref_scale
        smooth = self._filter(np.stack([moved, linear]), time, scale)
        a, b = smooth[1] / ref_scale
        lin = np.array([[a, -b], [b, a]])
        recomposed = np.hstack([lin, (smooth[0] - lin @ centre)[:, None]])
        return apply_affine(recomposed, shape).astype(np.float64)
