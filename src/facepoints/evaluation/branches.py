"""Benchmark the ATPN branches: head pose against reference angles, face confidence by AP.

Pose: every face is cropped from its tight landmark box (the landmark benchmark protocol)
and the pose branch's angles are compared with reference angles (eq. 3.9 MAE, FR at 10
degrees). Tracking: per face, the upright crop of a jittered face box is a positive and
``negatives`` background boxes (IoU < ``max_iou`` with the face) are negatives, all through
``Landmarker._predict`` as at inference; the score is the face probability.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..datasets.augment import jitter_box
from ..datasets.branch_samples import SampleConfig, negative_box
from ..datasets.records import FaceRecord
from ..geometry import apply_affine, box_from_points
from ..landmarker import Landmarker
from ..metrics import angle_errors, average_precision, pose_summary, precision_recall
from ..pipeline.images import load_image


@dataclass
class PosePredictions:
    """Pose-branch angles (K, 3) degrees and the predicted landmarks in crop pixels (K, N, 2)."""

    pose: np.ndarray
    crop_landmarks: np.ndarray


def predict_poses(landmarker: Landmarker, records: Sequence[FaceRecord], progress: bool = True) -> PosePredictions:
    """Run the landmarker on each record's tight landmark box."""
    poses, points = [], []
    for rec in tqdm(records, desc="pose", unit="face", disable=not progress):
        box = box_from_points(rec.landmarks)
        out = landmarker._predict(load_image(rec.image_path), box[None])
        if out.pose is None:
            raise ValueError(f"model {landmarker.card.name} has no pose branch")
        poses.append(out.pose[0])
        points.append(apply_affine(landmarker.spec.box_matrix(box), out.landmarks[0]))
    return PosePredictions(np.stack(poses), np.stack(points))


def pose_report(predictions: dict[str, np.ndarray], target: np.ndarray, threshold: float = 10.0) -> dict:
    """``pose_summary`` per named prediction set, plus per-face mean errors for CED plots."""
    return {name: {**pose_summary(pred, target, threshold), "per_face": angle_errors(pred, target).mean(1)}
            for name, pred in predictions.items()}


def pose_table(report: dict, threshold: float = 10.0) -> str:
    """Plain-text table of ``pose_report``."""
    key = f"fr_{threshold:g}"
    lines = [f"{'method':34s} {'yaw':>6s} {'pitch':>6s} {'roll':>6s} {'MAE':>6s} {'FR@' + f'{threshold:g}':>7s}"]
    for name, r in report.items():
        lines.append(f"{name:34s} {r['yaw']:6.2f} {r['pitch']:6.2f} {r['roll']:6.2f} {r['mae']:6.2f} "
                     f"{100 * r[key]:6.2f}%")
    return "\n".join(lines)


@dataclass
class TrackingScores:
    """Face probabilities of positive and negative crops."""

    scores: np.ndarray
    labels: np.ndarray

    def summary(self, thresholds: tuple[float, ...] = (0.5, 0.7)) -> dict:
        """AP, counts, recall and false-positive rate at each probability threshold (0.7 is the
        thesis' tracking threshold), and the precision-recall curve."""
        precision, recall = precision_recall(self.scores, self.labels)
        out = {"ap": average_precision(self.scores, self.labels), "positives": int(self.labels.sum()),
               "negatives": int((~self.labels).sum())}
        for t in thresholds:
            at = self.scores >= t
            out[f"recall_at_{t:g}"] = float(at[self.labels].mean())
            out[f"false_positive_rate_at_{t:g}"] = float(at[~self.labels].mean())
        return {**out, "curve": {"precision": precision, "recall": recall}}


def score_tracking_crops(landmarker: Landmarker, records: Sequence[FaceRecord], negatives: int = 10,
                         cfg: SampleConfig | None = None, seed: int = 1, progress: bool = True) -> TrackingScores:
    """Face probability of one jittered face box and ``negatives`` background boxes per record."""
    cfg = cfg or SampleConfig()
    scores, labels = [], []
    for index, rec in enumerate(tqdm(records, desc="tracking", unit="face", disable=not progress)):
        rng = np.random.default_rng([seed, 5, index])
        image = load_image(rec.image_path)
        face = box_from_points(rec.landmarks)
        boxes = [jitter_box(face, cfg.jitter, rng)]
        boxes += [b for b in (negative_box(face, image.shape, cfg, rng) for _ in range(negatives)) if b is not None]
        out = landmarker._predict(image, np.stack(boxes))
        if out.confidence is None:
            raise ValueError(f"model {landmarker.card.name} has no face-confidence branch")
        scores.extend(out.confidence.tolist())
        labels.extend([True] + [False] * (len(boxes) - 1))
    return TrackingScores(np.asarray(scores, np.float64), np.asarray(labels, bool))
