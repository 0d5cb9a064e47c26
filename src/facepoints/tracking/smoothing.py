"""Temporal smoothing of one tracked face's landmarks: rigid motion and shape filtered apart.

The default (``mode="kalman"``) splits each frame's raw landmarks into the face's
similarity motion (fitted to all points, so its noise is averaged over them) and its
shape in a fixed face frame. The motion goes through a constant-velocity Kalman filter
(:mod:`facepoints.tracking.kalman`), so a head moving steadily comes out without lag
however hard still noise is smoothed; the shape (which changes only with expression)
through a One Euro filter with per-point trust. See :class:`SmoothingConfig` and
:data:`PRESETS` for the measured settings.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..geometry import apply_affine, fit_similarity, invert_affine
from .kalman import ConstantVelocityKalman
from .one_euro import OneEuroFilter
from .point_trust import PointTrust

MODES = ("points", "rigid_shape", "kalman")
#: SmoothingConfig fields that must be finite and > 0, and finite and >= 0
POSITIVE = ("min_cutoff", "d_cutoff", "shape_cutoff", "measurement_noise", "noise_halflife")
NON_NEGATIVE = ("beta", "shape_beta", "motion_noise", "motion_beta")


@dataclass(frozen=True)
class SmoothingConfig:
    """Parameters of :class:`LandmarkSmoother` (use a preset, :data:`PRESETS`, unless tuning).

    ``mode``: ``"kalman"`` (default) filters the face's similarity motion with a
    constant-velocity Kalman filter and its face-frame shape with a One Euro filter;
    ``"rigid_shape"`` filters both with One Euro filters (the motion with
    ``min_cutoff``/``beta``; it lags a moving head); ``"points"`` filters every point on its
    own with ``min_cutoff``/``beta``. ``enabled=False`` passes raw landmarks through.

    Kalman motion (units of face size, the longer side of the tight landmark box, so they
    hold for any face size): ``measurement_noise`` is the assumed noise of the fitted motion
    per frame, ``motion_noise + motion_beta * speed`` (speed in face sizes a second) the
    standard deviation of its unmodelled acceleration: a larger ratio of motion to
    measurement noise follows turns and stops faster but smooths less.

    Shape: One Euro ``shape_cutoff`` (Hz) / ``shape_beta`` (per face size a second), each
    point's cutoff times its trust (:class:`facepoints.tracking.point_trust.PointTrust`,
    from ``trust``: the model's sigma, or an online estimate of each point's noise).
    ``min_cutoff``/``beta``/``d_cutoff`` are the One Euro parameters of the other modes.

    The defaults are the ``"strong"`` preset: the lowest mean jitter over the still, slow,
    medium and fast bands of 24 clips of 300W *training* faces whose smoothed NME stays
    within 1.02 x raw on every band and on 20 wandering training clips (``facepoints
    stability --bands`` and ``--clips 20 --frames 120``, see docs/video.md).
    """

    min_cutoff: float = 3.0
    beta: float = 10.0
    d_cutoff: float = 1.0
    trust: str = "auto"
    trust_limits: tuple[float, float] = (0.25, 4.0)
    noise_halflife: float = 0.5
    enabled: bool = True
    mode: str = "kalman"
    shape_cutoff: float = 0.5
    shape_beta: float = 5.0
    motion_noise: float = 0.1
    motion_beta: float = 2.0
    measurement_noise: float = 0.02

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"smoothing mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name in POSITIVE + NON_NEGATIVE:
            value, positive = getattr(self, name), name in POSITIVE
            if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):  # NaN fails too
                raise ValueError(f"smoothing {name} must be a finite number {'>' if positive else '>='} 0, "
                                 f"got {value!r}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


#: smoothing strengths by name (``TrackerConfig(smoothing="light")``, ``facepoints track --smoothing``),
#: chosen on clips of training faces (docs/video.md): ``"off"``: raw landmarks;
#: ``"light"``: no measurable accuracy cost (smoothed NME <= 1.0 x raw on every motion band of
#: the training clips), jitter cut by about 60 % on a still head and 20 % on a fast one;
#: ``"strong"`` (the default): jitter cut by about 70 % on a still head, a half on a slow one
#: and 10-15 % on a fast one, at most about 2 % NME added on any band (docs/video.md)
PRESETS: dict[str, SmoothingConfig] = {
    "off": SmoothingConfig(enabled=False),
    "light": SmoothingConfig(measurement_noise=0.005, shape_cutoff=2.0),
    "strong": SmoothingConfig(),
}


def smoothing_preset(name: str | SmoothingConfig) -> SmoothingConfig:
    """The :class:`SmoothingConfig` of a preset name (``"off"``, ``"light"``, ``"strong"``); a config passes through."""
    if isinstance(name, SmoothingConfig):
        return name
    if name not in PRESETS:
        raise ValueError(f"smoothing must be one of {', '.join(PRESETS)} or a SmoothingConfig, got {name!r}")
    return PRESETS[name]


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
        self._kalman = ConstantVelocityKalman()
        self._trust = PointTrust(c.trust, c.trust_limits, c.noise_halflife)
        self._time: float | None = None
        self._reference: np.ndarray | None = None
        self._reference_frame: tuple[float, np.ndarray] = (1.0, np.zeros(2))  # its box side and centre

    def __call__(self, points: np.ndarray, time: float, sigma: np.ndarray | None = None,
                 confidence: float | None = None) -> np.ndarray:
        """Smoothed (N, 2) float32 landmarks for raw (N, 2) ``points`` seen at ``time`` seconds.

        ``sigma`` ((N, 2) pixels) and ``confidence`` come from the model when it has them."""
        points = np.asarray(points, np.float64)
        if not self.config.enabled:
            return points.astype(np.float32)
        dt = 0.0 if self._time is None else time - self._time
        self._time = time
        scale = _box_side(points)  # the tight box's longer side
        trust = self._trust(points, scale, dt, sigma, confidence)
        if self.config.mode == "points":
            return self._filter(points, time, scale, trust).astype(np.float32)
        return self._rigid_shape(points, time, scale, trust).astype(np.float32)

    def _motion_filter(self, params: np.ndarray, time: float, scale: float) -> np.ndarray:
        """The rigid parameters (pixels) through the motion filter of the configured mode."""
        c = self.config
        if c.mode == "kalman":
            rate = self._kalman.rate
            speed = 0.0 if rate is None else np.linalg.norm(rate.reshape(params.shape), axis=-1, keepdims=True) / scale
            q = ((c.motion_noise + c.motion_beta * speed) * scale) ** 2 * np.ones(params.shape)
            r = (c.measurement_noise * scale) ** 2
            return self._kalman(params.ravel(), time, q.ravel(), r).reshape(params.shape)
        return self._filter(params, time, scale)

    def _rigid_shape(self, points: np.ndarray, time: float, scale: float, trust: np.ndarray | None) -> np.ndarray:
        """Filter the similarity motion and the face-frame shape separately, then recompose."""
        if self._reference is None or len(self._reference) != len(points):
            self._reference = points.copy()
            self._reference_frame = _box_side(points), points.mean(axis=0)
        ref = self._reference
        ref_scale, centre = self._reference_frame
        motion = fit_similarity(ref, points)  # reference frame -> this frame
        shape = apply_affine(invert_affine(motion), points).astype(np.float64)
        shape = self._shape_filter(shape, time, ref_scale, trust)
        # motion as two "points" in pixels: the moved reference centre and the linear part x size
        moved = motion[:, :2] @ centre + motion[:, 2]
        linear = np.array([motion[0, 0], motion[1, 0]]) * ref_scale
        smooth = self._motion_filter(np.stack([moved, linear]), time, scale)
        a, b = smooth[1] / ref_scale
        lin = np.array([[a, -b], [b, a]])
        recomposed = np.hstack([lin, (smooth[0] - lin @ centre)[:, None]])
        return apply_affine(recomposed, shape).astype(np.float64)


def _box_side(points: np.ndarray) -> float:
    """The longer side of the points' tight box, at least 1 pixel."""
    return max(float((points.max(axis=0) - points.min(axis=0)).max()), 1.0)
