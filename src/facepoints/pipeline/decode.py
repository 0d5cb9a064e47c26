"""From boxes to network crops and from network output back to image pixels."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crop import CropSpec, crop_to_image, warp_crop
from .runtime import NetworkOutput

#: how a crop's turn adds to the predicted roll: the crop angle of
#: :mod:`facepoints.pipeline.rotation` is positive clockwise on screen, a pose's roll positive
#: counter-clockwise (:mod:`facepoints.geometry.pose`), so a face seen upright in a crop turned by
#: ``a`` has roll ``model roll - a`` in the image
ROLL_SIGN = -1.0


@dataclass
class DecodedOutput:
    """Network output for K boxes in image terms.

    ``landmarks``: (K, N, 2) float32 image pixels; ``pose``: (K, 3) float32 yaw, pitch, roll in
    degrees or ``None``; ``confidence``: (K,) float32 face probability or ``None``; ``sigma``:
    (K, N, 2) float32 per-point, per-axis spread in image pixels or ``None``.
    """

    landmarks: np.ndarray
    pose: np.ndarray | None = None
    confidence: np.ndarray | None = None
    sigma: np.ndarray | None = None


def crops_for_boxes(image: np.ndarray, boxes: np.ndarray, spec: CropSpec,
                    angles: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(K, S, S, 3) uint8 crops and their image->crop matrices for (K, 4) xyxy boxes; ``angles``
    (K,) degrees turn each crop so that a face of that roll is upright in it (upright boxes,
    :mod:`facepoints.pipeline.rotation`)."""
    angles = np.zeros(len(boxes)) if angles is None else angles
    matrices = [spec.box_matrix(b, angle=float(a)) for b, a in zip(boxes, angles)]
    crops = np.stack([warp_crop(image, m, spec.size) for m in matrices]) if matrices else \
        np.zeros((0, spec.size, spec.size, 3), np.uint8)
    return crops, matrices


def decode_landmarks(norm: np.ndarray, matrix: np.ndarray, spec: CropSpec) -> np.ndarray:
    """(N, 2) normalised crop coordinates -> (N, 2) float32 image pixels."""
    return crop_to_image(matrix, spec.from_normalised(norm)).astype(np.float32)


def decode_spread(norm_sigma: np.ndarray, matrix: np.ndarray, spec: CropSpec) -> np.ndarray:
    """(N, 2) spreads in normalised crop units -> image pixels along the image axes (the crop is
    a similarity; a turned crop mixes the two axes' variances)."""
    lin = np.asarray(matrix, np.float64)[:, :2]
    crop_scale = float(np.sqrt(abs(np.linalg.det(lin))))
    crop_sigma = np.asarray(norm_sigma, np.float64) * (spec.size / 2) / crop_scale
    turn = (lin / crop_scale) ** 2  # cos^2 / sin^2 of the crop's angle
    return np.sqrt(crop_sigma ** 2 @ turn).astype(np.float32)


def decode_output(output: NetworkOutput, matrices: list[np.ndarray], spec: CropSpec,
                  angles: np.ndarray | None = None) -> DecodedOutput:
    """Landmarks and spreads to image pixels, pose to degrees (crops are unmirrored; a crop
    turned by ``angles`` adds that turn to the predicted roll)."""
    points = np.stack([decode_landmarks(n, m, spec) for n, m in zip(output.landmarks, matrices)])
    pose = None if output.pose is None else np.rad2deg(output.pose).astype(np.float32)
    if pose is not None and angles is not None:
        pose = pose.copy()
        pose[:, 2] = ((pose[:, 2] + ROLL_SIGN * np.asarray(angles) + 180.0) % 360.0 - 180.0).astype(np.float32)
    sigma = None if output.sigma is None else np.stack([decode_spread(s, m, spec)
                                                        for s, m in zip(output.sigma, matrices)])
    return DecodedOutput(points, pose, output.face_prob, sigma)


def concat_outputs(parts: list[DecodedOutput]) -> DecodedOutput:
    """One ``DecodedOutput`` from several for consecutive chunks of boxes."""
    def join(name: str) -> np.ndarray | None:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else np.concatenate(values)
    return DecodedOutput(join("landmarks"), join("pose"), join("confidence"), join("sigma"))
