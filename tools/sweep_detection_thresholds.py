"""Choose the detector pipeline's thresholds on the VALIDATION split (issue 14): the face check's
``Landmarker(min_confidence=...)``, BlazeFace's ``certain_score`` (a detection this sure is kept
although the landmark model's face check rejects it) and ``landmarker.DOUBTFUL_ROLL`` (roll beyond
which the second roll look runs).

For each roll threshold the pipeline runs once with every detection kept, and each face's
detector score and face confidence are stored, so every ``certain_score`` is scored from the
same run. Sets: the validation faces as is, their occluded copy (seed 0), turned +-90 degrees,
and tuning face-free images (``face_free_images(seed=s)`` for ``--face-free-seeds``, none of the
reported 200). The pipeline runs at the lowest ``--min-confidence``; each higher one filters
afterwards (the second alignment pass also reads ``min_confidence``: confirm a chosen setting with
``facepoints evaluate-detection --split val``).

    PYTHONPATH=src python tools/sweep_detection_thresholds.py ../shared/data/300W/train.txt

Rule: see ``choose``. ``--choose SWEEP.json`` applies the rule again to a written sweep.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import cv2
import numpy as np

from facepoints import landmarker as landmarker_module
from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.occluded_copy import occlude_records
from facepoints.datasets.splits import split_records
from facepoints.evaluation.detection import FAILURE_NME, _face_errors
from facepoints.evaluation.detection_sets import face_free_images, rotated_copies
from facepoints.landmarker import DEFAULT_MODEL, Landmarker
from facepoints.pipeline.images import load_image

NEVER = math.inf  # certain_score that never overrides the face check
SETS = ("as is", "occluded", "rotated +90", "rotated -90")


def _kept(faces, min_confidence: float, certain: float):
    return [f for f in faces if f.confidence is None or f.confidence >= min_confidence or f.score >= certain]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path, help="training list (its validation split is used)")
    ap.add_argument("--certain", type=float, nargs="+", default=[0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9])
    ap.add_argument("--rolls", type=float, nargs="+", default=[10.0, 20.0, 30.0])
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--face-free", type=int, default=200)
    ap.add_argument("--face-free-seeds", type=int, nargs="+", default=[1],
                    help="tuning face-free sets (200 images each; seed 0 is the reported set)")
    ap.add_argument("--min-confidence", type=float, nargs="+", default=[0.5],
                    help="face-check thresholds (the pipeline runs at the lowest; each filters afterwards)")
    ap.add_argument("--model", default=None, help="landmark model name (default: the default model)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--choose", type=Path, default=None, help="only apply the rule to a sweep's JSON")
    args = ap.parse_args()
    if args.choose is not None:
        report = json.loads(args.choose.read_text())
        for row in report["rows"]:
            print(_line(row))
        minimum, certain, roll = choose(report["rows"], report.get("face_free", 200))
        print(f"chosen: min_confidence {minimum:g}, certain_score {certain}, DOUBTFUL_ROLL {roll:g}")
        return
    if 0 in args.face_free_seeds:
        ap.error("--face-free-seeds 0 is the reported set; tune on other seeds")
    cv2.setNumThreads(1)
    records = split_records(read_image_list(args.data), "val", args.val_fraction)[::args.every]
    free = [im for seed in args.face_free_seeds for im in face_free_images(args.face_free, seed=seed)]
    lm = Landmarker(args.model or DEFAULT_MODEL, threads=1, min_confidence=min(args.min_confidence))
    lm.detector.certain_score = 0.0  # keep everything; each threshold filters afterwards
    certains = [*args.certain, NEVER]
    rows = []
    for roll in args.rolls:
        landmarker_module.DOUBTFUL_ROLL = roll
        sets = {"as is": [(load_image(r.image_path), r.landmarks[None]) for r in records],
                "occluded": ((res.image, r.landmarks[None]) for r, res in occlude_records(records, 0)),
                "rotated +90": rotated_copies(records, 90.0), "rotated -90": rotated_copies(records, -90.0)}
        grid = [(m, c) for m in args.min_confidence for c in certains]
        errors = {name: {g: [] for g in grid} for name in sets}
        for name, samples in sets.items():
            for image, truths in samples:
                faces = lm(image)
                for m, c in grid:
                    errors[name][m, c] += _face_errors(_kept(faces, m, c), np.asarray(truths, np.float64), lm.scheme)
        free_faces = [lm(im) for im in free]
        for m, c in grid:
            row = {"doubtful_roll": roll, "min_confidence": m, "certain_score": c if c != NEVER else None,
                   "false_detections": sum(len(_kept(f, m, c)) for f in free_faces)}
            for name in sets:
                e = np.asarray(errors[name][m, c])
                found = np.isfinite(e)
                row[name] = {"found": float(found.mean()), "nme_found": float(e[found].mean()),
                             "fr": float(np.mean(~found | (e > FAILURE_NME)))}
            rows.append(row)
            print(_line(row), flush=True)
    if args.json:  # written before the rule, which may find no setting
        args.json.write_text(json.dumps({"faces": len(records), "face_free": len(free), "rows": rows},
                                        indent=1) + "\n")
    minimum, certain, roll = choose(rows, len(free))
    print(f"chosen: min_confidence {minimum:g}, certain_score {certain}, DOUBTFUL_ROLL {roll:g} "
          f"({len(records)} validation faces, {len(free)} tuning face-free images)")


def choose(rows: list[dict], face_free: int) -> tuple[float, float | None, float]:
    """The rule: among settings with at most one false detection per 200 tuning face-free images
    (half the rate issue 14 allows, as margin: the tuning images only estimate the rate), with the
    validation faces as is found >= 99.5 % and each rotated set found >= 98 %, the highest found %
    on the occluded copy, then the fewest false detections, then the highest found % on the rotated
    faces, then the lowest mean NME over the four sets. Returns (min_confidence, certain_score or
    None for never, DOUBTFUL_ROLL)."""
    limit = face_free / 200.0
    ok = [r for r in rows if r["false_detections"] <= limit and r["as is"]["found"] >= 0.995
          and min(r["rotated +90"]["found"], r["rotated -90"]["found"]) >= 0.98]
    if not ok:
        raise SystemExit("no setting meets the rule's false-detection and found limits")
    best = max(ok, key=lambda r: (round(r["occluded"]["found"], 9), -r["false_detections"],
                                  round(r["rotated +90"]["found"] + r["rotated -90"]["found"], 9),
                                  -sum(r[k]["nme_found"] for k in SETS)))
    return best.get("min_confidence", 0.5), best["certain_score"], best["doubtful_roll"]


def _line(row: dict) -> str:
    c = "never" if row["certain_score"] is None else f"{row['certain_score']:g}"
    c = f"{row.get('min_confidence', 0.5):g} | {c}"
    cells = " | ".join(f"{100 * row[k]['found']:.1f} / {100 * row[k]['nme_found']:.2f} / {100 * row[k]['fr']:.1f}"
                       for k in SETS)
    return f"| {row['doubtful_roll']:g} | {c} | {cells} | {row['false_detections']} |"


if __name__ == "__main__":
    main()
