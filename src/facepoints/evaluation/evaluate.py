"""Benchmark a landmarker on annotated faces: NME / FR / AUC overall and per subset."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..datasets.records import FaceRecord
from ..detectors.rotated import detection_roll
from ..geometry import box_from_points, box_iou
from ..landmarker import Landmarker
from ..metrics import MetricSummary, nme_per_face, summarise
from ..pipeline.images import load_image
from ..schemes import get_scheme
from .subsets import subsets_of


@dataclass
class EvaluationResult:
    """Per-face NMEs and predictions with their summaries; ``sigmas`` (F, N, 2) pixels when the
    model estimates its uncertainty (NaN for faces the detector missed)."""

    model: str
    normalisation: str
    threshold: float
    box_mode: str
    paths: list[str]
    nme: np.ndarray
    predictions: np.ndarray
    overall: MetricSummary
    subsets: dict[str, MetricSummary] = field(default_factory=dict)
    detected: int | None = None
    sigmas: np.ndarray | None = None

    def to_json(self, per_face: bool = False) -> dict:
        out = {"model": self.model, "normalisation": self.normalisation, "threshold": self.threshold,
               "boxes": self.box_mode, "overall": self.overall.to_dict(),
               "subsets": {k: v.to_dict() for k, v in self.subsets.items()}}
        if self.detected is not None:
            out["detection_rate"] = self.detected / max(len(self.paths), 1)
        if per_face:
            # a missed face (NME infinity) is null: standard JSON has no Infinity
            out["per_face"] = [{"image": p, "nme": float(e) if np.isfinite(e) else None}
                               for p, e in zip(self.paths, self.nme)]
        return out

    def table(self) -> str:
        """A plain-text table: overall first, then subsets."""
        lines = [f"{'subset':20s} {self.overall.row()}  <- all ({self.normalisation} NME, {self.box_mode} boxes)"]
        lines += [f"{name:20s} {s.row()}" for name, s in sorted(self.subsets.items())]
        if self.detected is not None:
            lines.append(f"detector found {self.detected}/{len(self.paths)} faces (misses count as failures)")
        return "\n".join(lines)


def evaluate(landmarker: Landmarker, records: Sequence[FaceRecord], normalisation: str = "interocular",
             threshold: float = 0.08, box_mode: str = "gt", root: Path | None = None,
             progress: bool = True, points: Sequence[int] | None = None) -> EvaluationResult:
    """Run ``landmarker`` on every record and score it.

    ``box_mode="gt"`` uses each face's tight landmark box (the standard protocol);
    ``"detector"`` runs the landmarker's detector and keeps the detection that best overlaps
    the ground truth (a miss is scored as NME = infinity, i.e. a failure).
    ``points`` scores only these scheme points (still normalised by the full ground truth): the
    landmarker returns either every scheme point or exactly these, in this order (a TUFA model
    prompted with their plane positions, zero-shot). Predictions and sigmas of other points are NaN.
    """
    if box_mode not in ("gt", "detector"):
        raise ValueError("box_mode must be 'gt' or 'detector'")
    if not records:
        raise ValueError("no faces to evaluate")
    scheme = get_scheme(records[0].scheme)
    wrong = next((rec for rec in records if len(rec.landmarks) != scheme.num_points), None)
    if wrong is not None:
        raise ValueError(f"{wrong.image_path}: {len(wrong.landmarks)} annotated points, but {scheme.name} has "
                         f"{scheme.num_points}; evaluate a model of this list's points")
    keep = _checked_points(points, scheme.num_points)
    preds, targets, sigmas, detected = [], [], [], 0
    for rec in tqdm(records, desc="evaluating", unit="face", disable=not progress):
        image = load_image(rec.image_path)
        gt_box = box_from_points(rec.landmarks)
        box, rolls = gt_box, None
        if box_mode == "detector":
            dets = landmarker._detect_faces(image)
            ious = box_iou(np.stack([d.box for d in dets]), gt_box[None])[:, 0] if dets else np.zeros(0)
            if not len(ious) or ious.max() < 0.3:
                preds.append(np.full_like(rec.landmarks, np.inf))
                targets.append(rec.landmarks)
                sigmas.append(None)
                continue
            detected += 1
            best = dets[int(ious.argmax())]
            box, rolls = best.box, [detection_roll(best)]  # turned upright like Landmarker.__call__
        refine = landmarker.refine if box_mode == "detector" else 0
        face = landmarker.landmarks_for_boxes(image, box[None], refine=refine, rolls=rolls)[0]
        preds.append(_scored(face.landmarks, keep, rec.landmarks.shape))
        targets.append(rec.landmarks)
        sigmas.append(None if face.sigma is None else _scored(face.sigma, keep, rec.landmarks.shape))
    preds_arr, targets_arr = np.stack(preds), np.stack(targets)
    with np.errstate(invalid="ignore"):
        nme = nme_per_face(preds_arr, targets_arr, scheme, normalisation)
    nme = np.where(np.isnan(nme), np.inf, nme)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(records):
        for name in subsets_of(rec, root):
            groups[name].append(i)
    subsets = {name: summarise(nme[idx], threshold) for name, idx in groups.items() if len(idx) < len(records)}
    return EvaluationResult(landmarker.card.name, normalisation, threshold, box_mode,
                            [str(r.image_path) for r in records], nme, preds_arr,
                            summarise(nme, threshold), subsets,
                            detected if box_mode == "detector" else None, _stack_sigmas(sigmas, preds_arr.shape))


def _checked_points(points: Sequence[int] | None, num_points: int) -> list[int] | None:
    if points is None:
        return None
    keep = [int(i) for i in points]
    if not keep or len(set(keep)) != len(keep) or not all(0 <= i < num_points for i in keep):
        raise ValueError(f"points must be distinct scheme indices in 0..{num_points - 1}, got {list(points)}")
    return keep


def _scored(values: np.ndarray, keep: list[int] | None, shape: tuple[int, ...]) -> np.ndarray:
    """(N, 2) per-point ``values`` with NaN outside ``keep``; ``values`` has N or len(keep) rows."""
    if keep is None:
        return values
    out = np.full(shape, np.nan, np.float32)
    if len(values) == shape[0]:
        out[keep] = values[keep]
    elif len(values) == len(keep):
        out[keep] = values
    else:
        raise ValueError(f"the landmarker returned {len(values)} points; expected {shape[0]} or {len(keep)}")
    return out


def _stack_sigmas(sigmas: list[np.ndarray | None], shape: tuple[int, ...]) -> np.ndarray | None:
    """(F, N, 2) sigmas, NaN where a face has none; ``None`` when no face has one."""
    if all(s is None for s in sigmas):
        return None
    return np.stack([np.full(shape[1:], np.nan, np.float32) if s is None else s for s in sigmas])
