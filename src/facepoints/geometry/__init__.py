"""Geometry: 2x3 affine matrices, boxes, head-pose rotations."""
from .affine import apply_affine, compose_affine, fit_similarity, invert_affine, similarity_matrix
from .boxes import box_from_points, box_iou, validate_boxes
from .pose import OPENCV_FROM_VIEWER, matrix_to_pose, pose_axes_2d, pose_to_matrix

__all__ = ["apply_affine", "compose_affine", "fit_similarity", "invert_affine", "similarity_matrix",
           "box_from_points", "box_iou", "validate_boxes",
           "OPENCV_FROM_VIEWER", "matrix_to_pose", "pose_axes_2d", "pose_to_matrix"]
