"""Seeded training augmentation (thesis ch. 5.3.3) fused into one crop warp."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import apply_affine
from ..pipeline.crop import CropSpec, warp_crop
from ..schemes import LandmarkScheme
from .occlusion import OccluderConfig, occludable, occlude as occlude_face


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges; translations and jitter are fractions of the crop side."""

    flip: float = 0.5
    rotation_deg: float = 30.0
    scale: float = 0.05
    translation: float = 0.04          # ~10 px of a 256 px crop
    box_jitter: float = 0.05           # each box edge moves by up to this fraction of the box side
    shear_prob: float = 0.33
    shear: float = 0.15
    grey: float = 0.2
    occlusion: float = 0.5
    occlusion_max: float = 0.4         # largest occluder side, fraction of the crop
    occlusion_blocks: int = 1          # up to this many rectangles when occluding (thesis ch. 5.3.4: five)
    brightness_prob: float = 0.5
    brightness: float = 0.3
    face_occluder: float = 0.0         # chance of a landmark-aware occluder (``datasets.occlusion``)
    face_occluder_kinds: tuple[str, ...] = ("hand",)  # its kinds; iBUG-68 faces with every point labelled

    def __post_init__(self) -> None:
        object.__setattr__(self, "face_occluder_kinds", tuple(self.face_occluder_kinds))
        if self.face_occluder > 0:
            OccluderConfig(kinds=self.face_occluder_kinds)  # ValueError on unknown kinds


def jitter_box(box: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Move each edge of an xyxy box by up to ``amount`` x its longer side."""
    side = float(max(box[2] - box[0], box[3] - box[1]))
    return (np.asarray(box, np.float32) + rng.uniform(-amount, amount, 4).astype(np.float32) * side)


def augment_crop(image: np.ndarray, landmarks: np.ndarray, box: np.ndarray, spec: CropSpec,
                 scheme: LandmarkScheme, cfg: AugmentConfig,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One augmented (crop, crop-pixel landmarks) pair from an RGB image and its landmarks."""
    crop, pts, _ = augmented(image, landmarks, box, spec, scheme, cfg, rng)
    return crop, pts


def augmented(image: np.ndarray, landmarks: np.ndarray, box: np.ndarray, spec: CropSpec,
              scheme: LandmarkScheme, cfg: AugmentConfig,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """``augment_crop`` plus whether the crop was mirrored (its points then renumbered by the
    scheme's flip permutation, which per-point values must follow too)."""
    box = jitter_box(box, cfg.box_jitter, rng)
    flip = rng.random() < cfg.flip
    angle = rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)
    scale = 1.0 + rng.uniform(-cfg.scale, cfg.scale)
    shift = tuple(rng.uniform(-cfg.translation, cfg.translation, 2))
    shear = rng.uniform(-cfg.shear, cfg.shear) if rng.random() < cfg.shear_prob else 0.0
    matrix = spec.box_matrix(box, angle, scale, shift, shear, flip)
    crop = warp_crop(image, matrix, spec.size)
    pts = apply_affine(matrix, landmarks)
    if flip:
        pts = pts[list(scheme.flip_permutation)]
    crop = photometric(crop, cfg, rng)
    if cfg.face_occluder > 0 and rng.random() < cfg.face_occluder and _occludable(pts, scheme):
        crop = occlude_face(crop, pts, rng, OccluderConfig(kinds=cfg.face_occluder_kinds)).image
    return crop, pts, flip


def _occludable(pts: np.ndarray, scheme: LandmarkScheme) -> bool:
    """The landmark-aware occluders need all 68 iBUG points labelled."""
    return scheme.name == "ibug68" and occludable(pts)


def photometric(crop: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Grey, brightness and occlusion on an RGB uint8 crop."""
    out = crop
    if rng.random() < cfg.grey:
        g = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        out = np.repeat(g[..., None], 3, axis=2)
    if rng.random() < cfg.brightness_prob:
        factor = 1.0 + rng.uniform(-cfg.brightness, cfg.brightness)
        out = np.clip(out.astype(np.float32) * factor, 0, 255).astype(np.uint8)
    if rng.random() < cfg.occlusion:
        blocks = 1 if cfg.occlusion_blocks <= 1 else int(rng.integers(1, cfg.occlusion_blocks + 1))
        for _ in range(blocks):
            out = occlude(out, cfg.occlusion_max, rng)
    return out


def occlude(crop: np.ndarray, max_frac: float, rng: np.random.Generator) -> np.ndarray:
    """Paste a rectangle of random colour or noise at a random place."""
    out = crop.copy()
    h, w = out.shape[:2]
    rw = int(rng.uniform(0.1, max_frac) * w)
    rh = int(rng.uniform(0.1, max_frac) * h)
    x = int(rng.integers(0, w - rw + 1))
    y = int(rng.integers(0, h - rh + 1))
    if rng.random() < 0.5:
        out[y:y + rh, x:x + rw] = rng.integers(0, 256, 3, dtype=np.uint8)
    else:
        out[y:y + rh, x:x + rw] = rng.integers(0, 256, (rh, rw, 3), dtype=np.uint8)
    return out
