"""Synthetic clips by motion band: a still face moving at a set speed on a 640x480 canvas.

Unlike :mod:`facepoints.datasets.synthetic_video` (one face wandering inside its own
photo), a :class:`MotionSpec` fixes how fast the head moves, so a smoother can be scored
on still, slow, medium and fast heads separately (:data:`BANDS`, at 640x480):

* translation at a constant speed (px a frame) along a slowly turning heading that bounces
  off the canvas edges; rotation and log-zoom are sinusoids whose peak rates are the band's;
* ``layout="full"``: the photo fills the canvas, face box ``face_size`` x canvas height;
  ``"small"``: the face alone (feathered ellipse) pasted small on a textured background;
* ``expression``: the mouth opens and closes (a smooth local warp, amplitude in inter-ocular
  distances; 68-point faces only), the ground truth warped with it;
* ``cut_at``: from that frame on a second face (``second``) replaces the first, on the same path;
* ``occluder``: a flat-coloured ellipse (``occluder`` x face side) crosses the face once;
* per-frame pixel noise (``noise``) throughout.

Ground truth in every frame is exact (the landmarks through the same transforms), so NME
and jitter (noise plus lag) can be measured. All randomness comes from ``seed``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import apply_affine, box_from_points, similarity_matrix
from .synthetic_video import ClipTimeline

#: band -> (px a frame, degrees a frame, zoom a frame) ranges at 640x480; each clip draws
#: its rates uniformly inside its band's ranges
BANDS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "still": ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0)),
    "slow": ((1.0, 3.0), (0.2, 0.5), (0.001, 0.003)),
    "medium": ((4.0, 8.0), (0.5, 1.0), (0.003, 0.006)),
    "fast": ((10.0, 15.0), (1.0, 2.0), (0.006, 0.010)),
}
LAYOUTS = ("full", "small")
MAX_ANGLE, MAX_LOG_ZOOM = 15.0, 0.15


@dataclass(frozen=True)
class MotionSpec:
    """One clip's recipe (see the module docstring)."""

    band: str = "medium"
    frames: int = 60
    fps: float = 25.0
    canvas: tuple[int, int] = (640, 480)
    layout: str = "full"
    face_size: float = 0.45
    expression: float = 0.0
    cut_at: int | None = None
    occluder: float = 0.0
    noise: float = 3.0

    def __post_init__(self) -> None:
        if self.band not in BANDS:
            raise ValueError(f"band must be one of {', '.join(BANDS)}, got {self.band!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.frames < 2 or self.fps <= 0 or not 0 < self.face_size < 1:
            raise ValueError("a clip needs frames >= 2, fps > 0 and 0 < face_size < 1")
        if self.cut_at is not None and not 0 < self.cut_at < self.frames:
            raise ValueError(f"cut_at must lie inside the clip (1..{self.frames - 1}), got {self.cut_at}")


@dataclass
class MotionClip(ClipTimeline):
    """A rendered-on-demand clip: ``frames()`` yields RGB frames, ``truth`` is (T, N, 2)."""

    spec: MotionSpec
    stills: list[np.ndarray]
    landmarks: list[np.ndarray]     # each still's (N, 2) landmarks
    matrices: np.ndarray            # (T, 2, 3): the current face's still -> canvas
    face: np.ndarray                # (T,) which still is shown
    truth: np.ndarray               # (T, N, 2)
    mouth: np.ndarray               # (T, 2): mouth displacement vector (canvas px) at full weight
    mouth_frame: np.ndarray         # (T, 5): centre x, y, across sigma, down sigma, ramp (canvas px)
    background: np.ndarray
    occluder_path: np.ndarray       # (T, 2), NaN when absent
    occluder_axes: tuple[int, int]
    seed: int

    def frames(self) -> Iterator[np.ndarray]:
        """The (H, W, 3) uint8 RGB frames, one at a time."""
        w, h = self.spec.canvas
        rng = np.random.default_rng(self.seed)
        masks = [_face_mask(s.shape[:2], lm) for s, lm in zip(self.stills, self.landmarks)]
        colour = rng.integers(40, 216, 3).astype(np.float32)
        for t in range(self.spec.frames):
            k, m = int(self.face[t]), self.matrices[t]
            frame = cv2.warpAffine(self.stills[k], m, (w, h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
            if self.spec.layout == "small":
                alpha = cv2.warpAffine(masks[k], m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
                frame = frame * alpha + self.background * (1 - alpha)
            if np.any(self.mouth[t]):
                frame = _warp_mouth(frame, self.mouth[t], self.mouth_frame[t])
            if np.isfinite(self.occluder_path[t]).all():
                mask = np.zeros((h, w), np.uint8)
                cx, cy = (int(round(v)) for v in self.occluder_path[t])
                cv2.ellipse(mask, (cx, cy), self.occluder_axes, 30.0, 0, 360, 1, -1)
                frame[mask > 0] = colour
            frame += rng.standard_normal(frame.shape, np.float32) * np.float32(self.spec.noise)
            yield np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def make_motion_clip(still: np.ndarray, landmarks: np.ndarray, spec: MotionSpec, seed: int = 0,
                     second: tuple[np.ndarray, np.ndarray] | None = None) -> MotionClip:
    """A seeded clip of ``still`` (RGB uint8) with (N, 2) ``landmarks``; ``second`` (image,
    landmarks) is the face shown from ``spec.cut_at`` on (required then)."""
    if spec.cut_at is not None and second is None:
        raise ValueError("a clip with a cut needs the second face")
    if spec.expression and len(landmarks) != 68:
        raise ValueError("expression warps need 68-point landmarks")
    rng = np.random.default_rng(seed)
    w, h = spec.canvas
    t_len = spec.frames
    speed_r, angle_r, zoom_r = BANDS[spec.band]
    speed, angle_rate, zoom_rate = (rng.uniform(*r) for r in (speed_r, angle_r, zoom_r))
    side = spec.face_size * h
    centre = _path(rng, t_len, speed, (w, h), side)
    frames = np.arange(t_len)
    angle = MAX_ANGLE * np.sin(angle_rate / MAX_ANGLE * frames + rng.uniform(0, 2 * np.pi))  # peak rate angle_rate
    log_zoom = MAX_LOG_ZOOM * np.sin(zoom_rate / MAX_LOG_ZOOM * frames + rng.uniform(0, 2 * np.pi))
    stills = [np.ascontiguousarray(still)] + ([np.ascontiguousarray(second[0])] if second is not None else [])
    marks = [np.asarray(landmarks, np.float32)] + ([np.asarray(second[1], np.float32)] if second is not None else [])
    face = np.zeros(t_len, int)
    if spec.cut_at is not None:
        face[spec.cut_at:] = 1
    matrices = np.zeros((t_len, 2, 3))
    for t in range(t_len):
        lm = marks[face[t]]
        box = box_from_points(lm)
        base = side / max(box[2] - box[0], box[3] - box[1])
        matrices[t] = similarity_matrix(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), base * np.exp(log_zoom[t]),
                                        angle[t], tuple(centre[t]))
    truth = np.stack([apply_affine(matrices[t], marks[face[t]]) for t in range(t_len)]).astype(np.float64)
    mouth, mouth_frame = np.zeros((t_len, 2)), np.zeros((t_len, 5))
    if spec.expression:
        period = rng.uniform(20, 40)
        phase = rng.uniform(0, 2 * np.pi)
        for t in range(t_len):
            mouth[t], mouth_frame[t] = _mouth_geometry(truth[t], spec.expression
                                                       * 0.5 * (1 - np.cos(2 * np.pi * t / period + phase)))
            truth[t] = _displace_points(truth[t], mouth[t], mouth_frame[t])
    path, axes = np.full((t_len, 2), np.nan), (1, 1)
    if spec.occluder > 0:
        path, axes = _occluder(rng, truth, spec.occluder * side, (w, h))
    return MotionClip(spec, stills, marks, matrices, face, truth.astype(np.float32), mouth, mouth_frame,
                      _background(rng, (w, h)), path, axes, int(rng.integers(0, 2 ** 31)))


def _path(rng: np.random.Generator, frames: int, speed: float, size: tuple[int, int], side: float) -> np.ndarray:
    """(T, 2) face centres: constant ``speed`` along a slowly turning heading, bouncing off the edges."""
    w, h = size
    lo = np.array([0.5 * side + 10, 0.5 * side + 10])
    hi = np.array([w - 0.5 * side - 10, h - 0.5 * side - 10])
    hi = np.maximum(hi, lo)
    pos = rng.uniform(lo, hi)
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.normal(0, 0.02)  # radians a frame
    out = np.zeros((frames, 2))
    for t in range(frames):
        out[t] = pos
        step = speed * np.array([np.cos(heading), np.sin(heading)])
        nxt = pos + step
        for axis in range(2):
            if not lo[axis] <= nxt[axis] <= hi[axis]:
                step[axis] = -step[axis]
        heading = np.arctan2(step[1], step[0]) + turn
        pos = np.clip(pos + step, lo, hi)
    return out


def _mouth_geometry(points: np.ndarray, opening: float) -> tuple[np.ndarray, np.ndarray]:
    """Displacement vector (canvas px, towards the chin) and its local frame for a 68-point face."""
    iod = float(np.linalg.norm(points[36] - points[45]))
    centre = (points[62] + points[66]) / 2  # between the inner lips: the upper lip stays, the lower moves
    gap = float(np.linalg.norm(points[66] - points[62]))
    down = points[8] - centre
    chin = float(np.linalg.norm(down))
    down = down / max(chin, 1e-9)
    width = float(np.linalg.norm(points[54] - points[48]))
    # ramp width >= 0.3 x the displacement keeps the warp one-to-one (so the truth is exact)
    ramp = max(gap / 6, 0.02 * width, 0.3 * opening * iod)
    return opening * iod * down, np.array([centre[0], centre[1], 0.6 * width, 0.9 * chin, ramp])


def _mouth_weight(p: np.ndarray, vector: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Weight in [0, 1] of the mouth displacement at (..., 2) canvas points: 1 on the lower lip,
    0 above the mouth line, fading towards the chin and the cheeks."""
    norm = float(np.linalg.norm(vector))
    down = vector / norm if norm > 0 else np.array([0.0, 1.0])
    rel = p - frame[:2]
    u = rel @ down
    v = rel @ np.array([-down[1], down[0]])
    ramp = 1 / (1 + np.exp(-np.clip(u / frame[4], -50, 50)))
    return np.exp(-0.5 * (v / frame[2]) ** 2) * ramp * np.exp(-0.5 * (np.maximum(u, 0) / frame[3]) ** 2)


def _displace_points(points: np.ndarray, vector: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Where the warp (output(p) = input(p - d(p))) carries input ``points``: solves p = q + d(p)
    (a contraction: the ramp is wide enough for the displacement)."""
    p = points.copy()
    for _ in range(30):
        p = points + _mouth_weight(p, vector, frame)[:, None] * vector
    return p


def _warp_mouth(frame: np.ndarray, vector: np.ndarray, geometry: np.ndarray) -> np.ndarray:
    """``frame`` with the mouth warped (only the patch where the weight is not ~0 is remapped)."""
    h, w = frame.shape[:2]
    reach = 3 * max(geometry[2], geometry[3]) + float(np.linalg.norm(vector)) + 2
    x0, y0 = (max(0, int(geometry[i] - reach)) for i in (0, 1))
    x1, y1 = min(w, int(geometry[0] + reach) + 1), min(h, int(geometry[1] + reach) + 1)
    if x1 <= x0 or y1 <= y0:
        return frame
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    weight = _mouth_weight(np.stack([xs, ys], -1), vector, geometry).astype(np.float32)
    out = frame.copy()
    out[y0:y1, x0:x1] = cv2.remap(frame, xs - weight * np.float32(vector[0]), ys - weight * np.float32(vector[1]),
                                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def _face_mask(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """Feathered float32 ellipse around the face (still-image pixels) for pasting it small."""
    box = box_from_points(landmarks)
    c = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2 - 0.1 * (box[3] - box[1]))
    axes = (int(0.75 * (box[2] - box[0])), int(0.85 * (box[3] - box[1])))
    mask = np.zeros(shape, np.float32)
    cv2.ellipse(mask, (int(c[0]), int(c[1])), axes, 0, 0, 360, 1.0, -1)
    k = max(3, int(0.1 * max(axes)) | 1)
    return cv2.GaussianBlur(mask, (k, k), 0)


def _background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A static textured background: smooth colour noise and a few flat rectangles."""
    w, h = size
    bg = cv2.resize(rng.uniform(50, 200, (6, 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
        cv2.rectangle(bg, (x0, y0), (x0 + int(rng.integers(30, 200)), y0 + int(rng.integers(30, 200))),
                      tuple(float(v) for v in rng.uniform(30, 220, 3)), -1)
    return bg + rng.normal(0, 6, bg.shape).astype(np.float32)


def _occluder(rng: np.random.Generator, truth: np.ndarray, side: float,
              size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """An ellipse crossing the canvas over 40 % of the clip, past the face centre mid-crossing."""
    frames = len(truth)
    path = np.full((frames, 2), np.nan)
    axes = (max(1, int(side / 2)), max(1, int(side / 3)))
    length = max(2, int(0.4 * frames))
    start = int(rng.integers(0, frames - length + 1))
    target = truth[start + length // 2].mean(axis=0) + rng.uniform(-0.25, 0.25, 2) * side
    heading = rng.uniform(0, 2 * np.pi)
    reach = float(np.hypot(*size)) / 2 + max(axes)
    path[start:start + length] = target + np.linspace(-reach, reach, length)[:, None] * [np.cos(heading),
                                                                                         np.sin(heading)]
    return path, axes
