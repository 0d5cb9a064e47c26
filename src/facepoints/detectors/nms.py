"""Non-maximum suppression for face boxes: plain and weighted (MediaPipe's "WEIGHTED")."""
from __future__ import annotations

import numpy as np

__all__ = ["iou_one_to_many", "non_max_suppression"]


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy ``box`` with each row of (K, 4) ``boxes``."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3,
                        weighted: bool = True, extras: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Suppress overlapping boxes; returns kept ``(boxes, scores, extras)``, best score first.

    Boxes are (K, 4) xyxy, ``scores`` (K,), ``extras`` an optional (K, ...) array (e.g.
    keypoints) that follows its box. The best-scoring box and every remaining box whose IoU
    with it exceeds ``iou_threshold`` form a cluster. Plain NMS keeps the best box;
    ``weighted`` keeps the score-weighted mean of the cluster's boxes (and extras), with
    the best box's score, which steadies the box (MediaPipe's default for BlazeFace).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(boxes) != len(scores) or (extras is not None and len(extras) != len(boxes)):
        raise ValueError(f"{len(boxes)} boxes, {len(scores)} scores"
                         + ("" if extras is None else f", {len(extras)} extras"))
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold!r}")
    ex = None if extras is None else np.asarray(extras, np.float64)
    order = np.argsort(-scores, kind="stable")
    out_boxes, out_scores, out_extras = [], [], []
    while len(order):
        top = order[0]
        ious = iou_one_to_many(boxes[top], boxes[order])
        cluster = order[ious > iou_threshold]
        cluster = cluster if len(cluster) else order[:1]
        if weighted:
            w = scores[cluster] / scores[cluster].sum() if scores[cluster].sum() > 0 else None
            out_boxes.append(np.average(boxes[cluster], axis=0, weights=w))
            if ex is not None:
                out_extras.append(np.average(ex[cluster], axis=0, weights=w))
        else:
            out_boxes.append(boxes[top])
            if ex is not None:
                out_extras.append(ex[top])
        out_scores.append(scores[top])
        order = order[(ious <= iou_threshold) & (order != top)]
    kept_boxes = np.array(out_boxes, np.float32).reshape(-1, 4)
    kept_extras = None
    if ex is not None:
        kept_extras = np.array(out_extras, np.float32).reshape(len(out_boxes), *ex.shape[1:])
    return kept_boxes, np.array(out_scores, np.float32), kept_extras
