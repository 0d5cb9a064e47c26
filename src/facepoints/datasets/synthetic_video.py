"""Synthetic video clips from one still face, with exact ground-truth landmarks in every frame.

A clip moves the still image by a smooth random similarity (shift, rotation, zoom about
the frame centre), drifts its brightness, adds fresh pixel noise to every frame and lets
an occluder (a textured ellipse) pass across the face once. Since every frame is the still
image through a known transform, the ground truth of frame ``t`` is the still image's
landmarks through that transform: tracking accuracy *and* jitter can be measured exactly,
which no annotated video allows (annotations have their own jitter).

All randomness comes from the ``numpy.random.Generator`` given, so a seed fixes a clip.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import apply_affine, box_from_points, similarity_matrix


@dataclass(frozen=True)
class ClipSpec:
    """How a synthetic clip moves and degrades.

    ``frames`` at ``fps``. Motion: each of shift x/y (fraction of the frame side), rotation
    (degrees) and log-zoom follows Gaussian-smoothed white noise (``smoothness`` = its
    standard deviation in frames) scaled so its largest excursion is ``max_shift`` /
    ``max_angle`` / ``max_log_zoom`` times a random factor in [0.5, 1]. ``noise``: std of the
    per-frame Gaussian pixel noise (0-255 scale). ``brightness``: largest relative gain
    drift. ``occluder``: side of the occluder relative to the face box (0 = none); it crosses
    the frame over ``occluder_frames`` (a share of the clip) and passes over the face.
    """

    frames: int = 120
    fps: float = 30.0
    max_shift: float = 0.1
    max_angle: float = 15.0
    max_log_zoom: float = 0.1
    smoothness: float = 10.0
    noise: float = 4.0
    brightness: float = 0.25
    occluder: float = 0.4
    occluder_frames: float = 0.4

    def __post_init__(self) -> None:
        if self.frames < 2 or self.fps <= 0 or self.smoothness <= 0:
            raise ValueError("a clip needs frames >= 2, fps > 0 and smoothness > 0")


class ClipTimeline:
    """Frame count and frame times of a clip whose ``spec`` has ``frames`` and ``fps``
    (``ClipSpec``, ``motion_clips.MotionSpec``)."""

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.spec.frames) / self.spec.fps

    def __len__(self) -> int:
        return self.spec.frames


@dataclass
class SyntheticClip(ClipTimeline):
    """A clip: ``frames()`` renders the RGB frames; ``truth`` (T, N, 2) is the ground truth.

    ``matrices`` (T, 2, 3) map still-image pixels to frame pixels; ``gains`` (T,) are the
    brightness factors; ``occluder_path`` (T, 2) the occluder centre in frame pixels
    (NaN while it is out of the clip's crossing window); ``occluder_axes`` its half-axes."""

    still: np.ndarray
    landmarks: np.ndarray
    spec: ClipSpec
    matrices: np.ndarray
    gains: np.ndarray
    occluder_path: np.ndarray
    occluder_axes: tuple[int, int]
    occluder_colour: tuple[int, int, int]
    seed: int

    @property
    def truth(self) -> np.ndarray:
        return np.stack([apply_affine(m, self.landmarks) for m in self.matrices])

    def frames(self) -> Iterator[np.ndarray]:
        """The (H, W, 3) uint8 RGB frames, rendered one at a time (same size as the still)."""
        h, w = self.still.shape[:2]
        rng = np.random.default_rng(self.seed)  # noise is re-drawn identically on every pass
        texture = rng.integers(-40, 41, (h, w, 1)).astype(np.float32)
        for t, matrix in enumerate(self.matrices):
            frame = cv2.warpAffine(self.still, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
            frame *= self.gains[t]
            if np.isfinite(self.occluder_path[t]).all():
                mask = np.zeros((h, w), np.uint8)
                cx, cy = (int(round(v)) for v in self.occluder_path[t])
                cv2.ellipse(mask, (cx, cy), self.occluder_axes, 30.0, 0, 360, 1, -1)
                patch = np.asarray(self.occluder_colour, np.float32) + texture
                frame = np.where(mask[..., None] > 0, patch, frame)
            frame += rng.normal(0.0, self.spec.noise, frame.shape).astype(np.float32)
            yield np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def make_clip(still: np.ndarray, landmarks: np.ndarray, spec: ClipSpec | None = None,
              seed: int = 0) -> SyntheticClip:
    """A seeded clip of ``still`` (RGB uint8) whose face has (N, 2) ``landmarks`` (0-based pixels)."""
    spec = spec or ClipSpec()
    rng = np.random.default_rng(seed)
    h, w = still.shape[:2]
    side = float(max(h, w))
    shift = np.stack([_smooth_path(rng, spec.frames, spec.smoothness) for _ in range(2)], 1) * spec.max_shift * side
    angle = _smooth_path(rng, spec.frames, spec.smoothness) * spec.max_angle
    zoom = np.exp(_smooth_path(rng, spec.frames, spec.smoothness) * spec.max_log_zoom)
    centre = ((w - 1) / 2, (h - 1) / 2)
    matrices = np.stack([similarity_matrix(centre, z, a, (centre[0] + s[0], centre[1] + s[1]))
                         for s, a, z in zip(shift, angle, zoom)])
    gains = 1.0 + _smooth_path(rng, spec.frames, spec.smoothness) * spec.brightness
    box = box_from_points(landmarks)
    face_side = float(max(box[2] - box[0], box[3] - box[1]))
    path, axes = _occluder_path(rng, spec, matrices, landmarks, (w, h), face_side)
    colour = tuple(int(v) for v in rng.integers(40, 216, 3))
    return SyntheticClip(np.ascontiguousarray(still), np.asarray(landmarks, np.float32), spec, matrices,
                         gains.astype(np.float32), path, axes, colour, int(rng.integers(0, 2 ** 31)))


def _smooth_path(rng: np.random.Generator, frames: int, smoothness: float) -> np.ndarray:
    """(frames,) smooth random signal whose largest excursion from 0 is in [0.5, 1]."""
    from scipy.ndimage import gaussian_filter1d  # imported here: scipy.ndimage takes ~0.5 s (CLI start-up)

    pad = int(4 * smoothness)
    raw = gaussian_filter1d(rng.normal(size=frames + 2 * pad), smoothness)[pad:pad + frames]
    return raw / max(np.abs(raw).max(), 1e-9) * rng.uniform(0.5, 1.0)


def _occluder_path(rng: np.random.Generator, spec: ClipSpec, matrices: np.ndarray, landmarks: np.ndarray,
                   size: tuple[int, int], face_side: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Occluder centres: a straight crossing from one frame edge to the other that passes the
    face centre (at the middle of the crossing) within a quarter of the face size."""
    path = np.full((spec.frames, 2), np.nan, np.float32)
    axes = (max(1, int(spec.occluder * face_side / 2)), max(1, int(spec.occluder * face_side / 3)))
    if spec.occluder <= 0:
        return path, axes
    length = max(2, int(spec.occluder_frames * spec.frames))
    start = int(rng.integers(0, spec.frames - length + 1))
    middle = start + length // 2
    face_centre = apply_affine(matrices[middle], landmarks).mean(axis=0)
    target = face_centre + rng.uniform(-0.25, 0.25, 2) * face_side
    heading = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(heading), np.sin(heading)])
    reach = float(np.hypot(*size)) / 2 + max(axes)
    steps = np.linspace(-reach, reach, length)[:, None]
    path[start:start + length] = target + steps * direction
    return path, axes
