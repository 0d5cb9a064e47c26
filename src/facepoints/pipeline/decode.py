"""From boxes to network crops and from network output back to image pixels."""
from __future__ import annotations

import numpy as np

from .crop import CropSpec, crop_to_image, warp_crop


def crops_for_boxes(image: np.ndarray, boxes: np.ndarray, spec: CropSpec) -> tuple[np.ndarray, list[np.ndarray]]:
    """(K, S, S, 3) uint8 crops and their image->crop matrices for (K, 4) xyxy boxes."""
    matrices = [spec.box_matrix(b) for b in boxes]
    crops = np.stack([warp_crop(image, m, spec.size) for m in matrices]) if matrices else \
        np.zeros((0, spec.size, spec.size, 3), np.uint8)
    return crops, matrices


def decode_landmarks(norm: np.ndarray, matrix: np.ndarray, spec: CropSpec) -> np.ndarray:
    """(N, 2) normalised crop coordinates -> (N, 2) float32 image pixels."""
    return crop_to_image(matrix, spec.from_normalised(norm)).astype(np.float32)
