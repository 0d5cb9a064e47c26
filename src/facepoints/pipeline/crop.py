"""Face crops: from an xyxy landmark box to a square network input and back."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import apply_affine, invert_affine, similarity_matrix


@dataclass(frozen=True)
class CropSpec:
    """How a face box becomes a network input.

    The crop is a square of side ``margin * max(w, h)`` centred on the tight landmark box,
    resampled to ``size`` pixels. Network coordinates are normalised to [-1, 1] over the crop.
    """

    size: int = 112
    margin: float = 1.25

    def box_matrix(self, box: np.ndarray, angle: float = 0.0, scale: float = 1.0,
                   shift: tuple[float, float] = (0.0, 0.0), shear: float = 0.0,
                   flip: bool = False) -> np.ndarray:
        """2x3 matrix from image pixels to crop pixels for an xyxy ``box``.

        ``scale`` > 1 zooms out, ``shift`` moves the crop centre (fraction of the box side).
        """
        x0, y0, x1, y1 = [float(v) for v in box]
        side = max(x1 - x0, y1 - y0) * self.margin * scale
        cx = (x0 + x1) / 2 + shift[0] * side
        cy = (y0 + y1) / 2 + shift[1] * side
        half = (self.size - 1) / 2
        return similarity_matrix((cx, cy), self.size / max(side, 1e-6), angle, (half, half), shear, flip)

    def to_normalised(self, crop_points: np.ndarray) -> np.ndarray:
        """Crop pixels -> [-1, 1] network coordinates."""
        half = (self.size - 1) / 2
        return ((np.asarray(crop_points, np.float32) - half) / (self.size / 2)).astype(np.float32)

    def from_normalised(self, norm_points: np.ndarray) -> np.ndarray:
        """[-1, 1] network coordinates -> crop pixels."""
        half = (self.size - 1) / 2
        return (np.asarray(norm_points, np.float32) * (self.size / 2) + half).astype(np.float32)

    def mean_shape_in_crop(self, canonical_mean: np.ndarray) -> np.ndarray:
        """A scheme's canonical mean shape (tight box -> [-1, 1]) in normalised crop coordinates."""
        return (np.asarray(canonical_mean, np.float32) / self.margin).astype(np.float32)


def warp_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Resample ``image`` (H, W[, C]) through ``matrix`` into a ``size`` x ``size`` crop (black border)."""
    import cv2  # here, not at import: model cards hold a CropSpec and load without OpenCV

    return cv2.warpAffine(image, matrix.astype(np.float64), (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def crop_to_image(matrix: np.ndarray, crop_points: np.ndarray) -> np.ndarray:
    """Map crop-pixel points back to image pixels."""
    return apply_affine(invert_affine(matrix), crop_points)
