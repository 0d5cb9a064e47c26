#!/usr/bin/env python
"""False detections of the whole default pipeline on face-free images, for each certain_score.

The pipeline runs once with every detection kept; each ``certain_score`` then keeps the faces
the model's face check accepts or BlazeFace scores at least that high (as ``Landmarker`` does).
Seeds other than 0 are tuning sets (issue 14, docs/detection.md); 0 is the reported set.

    PYTHONPATH=src python tools/face_free_certain_sweep.py --seeds 1 2 3
"""
from __future__ import annotations

import argparse

import cv2

from facepoints.detectors.blazeface import BlazeFaceDetector
from facepoints.evaluation.detection_sets import face_free_images
from facepoints.landmarker import DEFAULT_MODEL, Landmarker


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--images", type=int, default=200, help="face-free images per seed")
    ap.add_argument("--certain", type=float, nargs="+", default=[0.55, 0.6, 0.65, 0.7])
    ap.add_argument("--model", default=None, help="landmark model name (default: the default model)")
    ap.add_argument("--whole-image", choices=["fill", "letterbox"], default="fill", help="BlazeFace's whole-image pass")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    lm = Landmarker(args.model or DEFAULT_MODEL, threads=1, detector=BlazeFaceDetector(threads=1, whole_image=args.whole_image))
    lm.detector.certain_score = 0.0  # keep everything; each threshold filters afterwards
    found = {seed: [lm(im) for im in face_free_images(args.images, seed=seed)] for seed in args.seeds}
    for c in args.certain:
        counts = {seed: sum(f.confidence >= lm.min_confidence or f.score >= c for faces in runs for f in faces)
                  for seed, runs in found.items()}
        print(f"certain_score {c:g}: {sum(counts.values())} false detections on "
              f"{args.images * len(args.seeds)} images ({', '.join(f'seed {s}: {n}' for s, n in counts.items())})")


if __name__ == "__main__":
    main()
