"""Crops for the ATPN branches: jittered faces, background crops, augmented pose crops.

Boxes follow the tight-landmark-box convention and become crops through ``CropSpec``, as at
inference. Background ("negative") boxes have IoU below ``max_iou`` with the face box, random
sizes and positions, so some hold part of the face or the whole face small, and some run
off the image (black). The data's images are 2x crops with black where the original photo
ended; so that black margins alone never mean "background", positives get a black band
on a random side with probability ``border_prob``. With ``face_occluder`` > 0 a landmark-aware
occluder (``datasets.occlusion``: a hand by default) is painted over that share of the faces, and
over the same share of background crops (placed as a face of the crop's size would be), so that
an occluder alone never means "face".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import apply_affine, box_iou
from ..pipeline.crop import CropSpec, warp_crop
from ..schemes import LandmarkScheme
from .augment import AugmentConfig, augment_crop, jitter_box, photometric
from .occlusion import OccluderConfig, occludable, occlude


@dataclass(frozen=True)
class SampleConfig:
    """How face and background crops are drawn (fractions are of the box side)."""

    jitter: float = 0.08           # each positive box edge moves by up to this fraction
    scale: float = 0.12            # positive zoom in/out
    rotation_deg: float = 20.0     # positive rotation
    flip: float = 0.5
    border_prob: float = 0.3       # positive gets a black band (an image edge)
    border_max: float = 0.35       # widest band, fraction of the crop
    max_iou: float = 0.3           # a background box overlaps the face box less than this
    neg_scale: tuple[float, float] = (0.35, 3.0)   # background box side / face box side (log-uniform)
    photometric: AugmentConfig = AugmentConfig(occlusion=0.2, grey=0.15)
    face_occluder: float = 0.0     # share of positives (and of negatives) given a landmark-aware occluder
    face_occluder_kinds: tuple[str, ...] = ("hand",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "face_occluder_kinds", tuple(self.face_occluder_kinds))
        if not 0.0 <= self.face_occluder <= 1.0:
            raise ValueError(f"face_occluder must be a probability in [0, 1], got {self.face_occluder}")
        if self.face_occluder > 0:
            OccluderConfig(kinds=self.face_occluder_kinds)  # ValueError on unknown kinds


def maybe_occlude(image: np.ndarray, landmarks: np.ndarray | None, cfg: SampleConfig,
                  rng: np.random.Generator) -> np.ndarray:
    """``image`` with a landmark-aware occluder over ``landmarks`` (68 iBUG pixel points) with
    probability ``cfg.face_occluder``; unchanged (and no random draw) when it is 0 or the points
    are not a complete iBUG-68 set."""
    if cfg.face_occluder <= 0 or landmarks is None:
        return image
    if not occludable(landmarks) or rng.random() >= cfg.face_occluder:
        return image
    return occlude(image, np.asarray(landmarks, np.float64), rng, OccluderConfig(kinds=cfg.face_occluder_kinds)).image


def moved_points(landmarks: np.ndarray, face_box: np.ndarray, box: np.ndarray) -> np.ndarray:
    """``landmarks`` of ``face_box`` scaled and moved onto ``box`` (centre to centre, longer side
    to longer side): where a face of that box would have them."""
    face_box, box = np.asarray(face_box, np.float64), np.asarray(box, np.float64)
    side = lambda b: max(b[2] - b[0], b[3] - b[1], 1e-6)  # noqa: E731
    centre = lambda b: (b[:2] + b[2:]) / 2  # noqa: E731
    return (np.asarray(landmarks, np.float64) - centre(face_box)) * (side(box) / side(face_box)) + centre(box)


def black_band(crop: np.ndarray, max_frac: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``crop`` with a black band of up to ``max_frac`` of its side along a random edge."""
    out = crop.copy()
    size = out.shape[0]
    width = max(1, int(rng.uniform(0.05, max_frac) * size))
    side = int(rng.integers(4))
    if side == 0:
        out[:, :width] = 0
    elif side == 1:
        out[:, -width:] = 0
    elif side == 2:
        out[:width] = 0
    else:
        out[-width:] = 0
    return out


def positive_crop(image: np.ndarray, box: np.ndarray, spec: CropSpec, cfg: SampleConfig,
                  rng: np.random.Generator, landmarks: np.ndarray | None = None) -> np.ndarray:
    """A jittered, rotated, possibly mirrored crop of the face in ``box`` (occluded as
    ``maybe_occlude`` says when its ``landmarks`` are given)."""
    image = maybe_occlude(image, landmarks, cfg, rng)
    jittered = jitter_box(box, cfg.jitter, rng)
    matrix = spec.box_matrix(jittered, rng.uniform(-cfg.rotation_deg, cfg.rotation_deg),
                             1.0 + rng.uniform(-cfg.scale, cfg.scale), flip=bool(rng.random() < cfg.flip))
    crop = photometric(warp_crop(image, matrix, spec.size), cfg.photometric, rng)
    return black_band(crop, cfg.border_max, rng) if rng.random() < cfg.border_prob else crop


def negative_box(face_box: np.ndarray, image_shape: tuple[int, ...], cfg: SampleConfig,
                 rng: np.random.Generator, tries: int = 100) -> np.ndarray | None:
    """A random xyxy box centred inside the image with IoU < ``cfg.max_iou`` to ``face_box``."""
    h, w = image_shape[:2]
    side_face = float(max(face_box[2] - face_box[0], face_box[3] - face_box[1]))
    lo, hi = np.log(cfg.neg_scale[0]), np.log(cfg.neg_scale[1])
    for _ in range(tries):
        side = side_face * float(np.exp(rng.uniform(lo, hi)))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        box = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32)
        if box_iou(box[None], np.asarray(face_box)[None])[0, 0] < cfg.max_iou:
            return box
    return None


def negative_crop(image: np.ndarray, box: np.ndarray, spec: CropSpec, cfg: SampleConfig,
                  rng: np.random.Generator, landmarks: np.ndarray | None = None) -> np.ndarray:
    """A background crop for ``box`` (from ``negative_box``), rotated and mirrored like positives;
    ``landmarks``: points placed in ``box`` (``moved_points``) for ``maybe_occlude``."""
    image = maybe_occlude(image, landmarks, cfg, rng)
    matrix = spec.box_matrix(box, rng.uniform(-cfg.rotation_deg, cfg.rotation_deg),
                             flip=bool(rng.random() < cfg.flip))
    return photometric(warp_crop(image, matrix, spec.size), cfg.photometric, rng)


def plain_crop(image: np.ndarray, box: np.ndarray, spec: CropSpec) -> np.ndarray:
    """The inference crop of ``box`` (upright, no augmentation)."""
    return warp_crop(image, spec.box_matrix(box), spec.size)


def pose_crop(image: np.ndarray, landmarks: np.ndarray, box: np.ndarray, spec: CropSpec,
              scheme: LandmarkScheme, augment: AugmentConfig | None,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(crop, crop-pixel landmarks): augmented as in landmark training, or the plain inference
    crop when ``augment`` is ``None`` (pose labels are fitted to the returned landmarks)."""
    if augment is None:
        matrix = spec.box_matrix(box)
        return warp_crop(image, matrix, spec.size), apply_affine(matrix, landmarks)
    return augment_crop(image, landmarks, box, spec, scheme, augment, rng)
