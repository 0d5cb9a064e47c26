"""Benchmark metrics: NME (four normalisations), FR@a, AUC@a, CED curves, subset tables."""
from .curves import auc, ced_curve, failure_rate
from .nme import NORMALISATIONS, nme_per_face, normaliser, per_point_errors
from .summary import MetricSummary, summarise

__all__ = ["auc", "ced_curve", "failure_rate", "NORMALISATIONS", "nme_per_face", "normaliser",
           "per_point_errors", "MetricSummary", "summarise"]
