"""Per-point training weights from a teacher's sigma (``facepoints pseudo-label`` writes it beside
each pseudo-label): a point the teacher was unsure of counts less. Each sigma is taken relative to
its face's inter-ocular distance; the weight is ``min(1, reference / sigma)``, the reference being
the median of all those relative sigmas, so half the points keep full weight."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..datasets.records import FaceRecord
from ..schemes import LandmarkScheme


def relative_sigma(record: FaceRecord, scheme: LandmarkScheme) -> np.ndarray | None:
    """(N,) mean of each point's (sx, sy) over the face's inter-ocular distance; ``None`` without sigma."""
    sigma = record.attributes.get("sigma")
    if sigma is None:
        return None
    left, right = scheme.interocular
    points = record.landmarks
    iod = float(np.linalg.norm(points[list(left)].mean(0) - points[list(right)].mean(0)))
    return np.asarray(sigma, np.float32).mean(axis=1) / max(iod, 1e-6)


def sigma_weights(records: Sequence[FaceRecord], scheme: LandmarkScheme) -> list[np.ndarray | None]:
    """One (N,) weight array per record with a sigma, ``None`` (all ones) for the others."""
    relative = [relative_sigma(r, scheme) for r in records]
    known = [r for r in relative if r is not None]
    if not known:
        return [None] * len(records)
    reference = float(np.median(np.concatenate(known)))
    return [None if r is None else np.minimum(1.0, reference / np.maximum(r, 1e-9)).astype(np.float32)
            for r in relative]
