"""How well a ``Landmarker`` finds faces with no boxes given: found %, NME on found faces,
FR counting misses and time per image on sets made from an annotated list, and false
detections on face-free images (issue 14).

A face counts as found when some predicted face's landmarks centre within one inter-ocular
distance of the annotated centre (the nearest such face is scored); a missed face counts as
a failure in FR. False detections are the faces the Landmarker reports on face-free images.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ConditionResult", "score_condition", "count_false_detections", "detection_table", "FAILURE_NME"]

#: NME above which a found face counts as a failure (FR@0.08)
FAILURE_NME = 0.08


@dataclass(frozen=True)
class ConditionResult:
    """One condition's figures: ``faces`` annotated, ``found`` of them, ``nme_found`` mean NME on
    found faces, ``fr`` share of faces missed or above ``FAILURE_NME``, ``ms_per_image``."""

    name: str
    images: int
    faces: int
    found: int
    nme_found: float
    fr: float
    ms_per_image: float

    @property
    def found_rate(self) -> float:
        return self.found / max(self.faces, 1)

    def to_dict(self) -> dict:
        return {**asdict(self), "found_rate": self.found_rate}


def _face_errors(faces, truths: np.ndarray, scheme) -> list[float]:
    """NME of the nearest found face for each of (F, N, 2) annotated faces; ``inf`` if missed."""
    out = []
    for truth in truths:
        iod = float(scheme.normaliser(truth, "interocular"))
        centre = truth.mean(0)
        best = np.inf
        for face in faces:
            if np.linalg.norm(face.landmarks.mean(0) - centre) < iod:
                best = min(best, float(np.linalg.norm(face.landmarks - truth, axis=1).mean()) / iod)
        out.append(best)
    return out


def score_condition(landmarker, name: str, samples: Iterable[tuple[np.ndarray, np.ndarray]]) -> ConditionResult:
    """Run ``landmarker`` (no boxes) on each ``(image, (F, N, 2) landmarks)`` sample."""
    errors, seconds, images = [], 0.0, 0
    for image, truths in samples:
        t0 = time.perf_counter()
        faces = landmarker(image)
        seconds += time.perf_counter() - t0
        images += 1
        errors += _face_errors(faces, np.asarray(truths, np.float64).reshape(len(truths), -1, 2),
                               landmarker.scheme)
    e = np.asarray(errors, np.float64)
    found = np.isfinite(e)
    return ConditionResult(name, images, len(e), int(found.sum()),
                           float(e[found].mean()) if found.any() else float("nan"),
                           float(np.mean(~found | (e > FAILURE_NME))) if len(e) else float("nan"),
                           1000.0 * seconds / max(images, 1))


def count_false_detections(landmarker, images: Iterable[np.ndarray]) -> tuple[int, int, int]:
    """(faces the Landmarker reports, images with any, images) on face-free images."""
    counts = [len(landmarker(im)) for im in images]
    return sum(counts), sum(c > 0 for c in counts), len(counts)


def detection_table(results: list[ConditionResult]) -> str:
    """A Markdown table of the conditions."""
    lines = ["| set | images | faces | found % | NME found % | FR@0.08 counting misses % | ms / image |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.images} | {r.faces} | {100 * r.found_rate:.1f} | {100 * r.nme_found:.2f} | "
                     f"{100 * r.fr:.1f} | {r.ms_per_image:.0f} |")
    return "\n".join(lines)
