"""Plane geometry: 2x3 affine matrices, boxes."""
from .affine import apply_affine, compose_affine, invert_affine, similarity_matrix
from .boxes import box_from_points, box_iou, validate_boxes

__all__ = ["apply_affine", "compose_affine", "invert_affine", "similarity_matrix",
           "box_from_points", "box_iou", "validate_boxes"]
