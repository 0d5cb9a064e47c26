"""Benchmark metrics: NME (four normalisations), FR@a, AUC@a, CED curves, subset tables; head-pose
errors; precision-recall and average precision."""
from .curves import auc, ced_curve, failure_rate
from .nme import NORMALISATIONS, nme_per_face, normaliser, per_point_errors
from .pose import angle_errors, pose_summary
from .ranking import average_precision, precision_recall
from .summary import MetricSummary, summarise

__all__ = ["auc", "ced_curve", "failure_rate", "NORMALISATIONS", "nme_per_face", "normaliser",
           "per_point_errors", "MetricSummary", "summarise", "angle_errors", "pose_summary",
           "average_precision", "precision_recall"]
