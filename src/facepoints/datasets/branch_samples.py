"""Crops for the ATPN branches: jittered faces, background crops, augmented pose crops.

Boxes follow the tight-landmark-box convention and become crops through ``CropSpec``, as at
inference. Background ("negative") boxes have IoU below ``max_iou`` with the face box, random
sizes and positions, so some hold part of the face or the whole face small, and some run
off the image (black). The data's images are 2x crops with black where the original photo
ended; so that black margins alone never mean "background", positives get a black band
on a random side with probability ``border_prob``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import apply_affine, box_iou
from ..pipeline.crop import CropSpec, warp_crop
from ..schemes import LandmarkScheme
from .augment import AugmentConfig, augment_crop, jitter_box, photometric


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
                  rng: np.random.Generator) -> np.ndarray:
    """A jittered, rotated, possibly mirrored crop of the face in ``box``."""
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
                  rng: np.random.Generator) -> np.ndarray:
    """A background crop for ``box`` (from ``negative_box``), rotated and mirrored like positives."""
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
