"""One row of a benchmark table."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .curves import auc, failure_rate


@dataclass(frozen=True)
class MetricSummary:
    """NME (mean, in %), FR and AUC at ``threshold`` over ``count`` faces."""

    count: int
    nme: float
    fr: float
    auc: float
    threshold: float

    def to_dict(self) -> dict:
        """JSON-friendly dict; an undefined value (NaN, e.g. the NME of only missed faces) is ``None``."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()}

    def row(self) -> str:
        return (f"n={self.count:5d}  NME {100 * self.nme:6.3f} %  FR@{self.threshold:g} {100 * self.fr:6.2f} %"
                f"  AUC@{self.threshold:g} {self.auc:.4f}")


def summarise(nme: np.ndarray, threshold: float = 0.08) -> MetricSummary:
    """Summary of per-face NMEs; the mean skips infinite entries (faces never located), which
    still count as failures and in the CED curve."""
    nme = np.asarray(nme, np.float64)
    finite = nme[np.isfinite(nme)]
    return MetricSummary(int(nme.size), float(finite.mean()) if finite.size else float("nan"),
                         failure_rate(nme, threshold), auc(nme, threshold), threshold)
