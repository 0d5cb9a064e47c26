#!/usr/bin/env python
"""Probe (issue 16): validation NME of shipped models alone, flip-tested, and averaged together.

Scores 300W's validation part (ground-truth boxes, inter-ocular NME, as `facepoints evaluate
--split val`) for each model with and without the flip test, then the mean of the flip-tested
predictions of every pair and of all models. Nothing ships; the outcome is in docs/experiments.md.

    python tools/ensemble_probe.py --models tufa_lite0_68 dslpt_lite0_68 atpn_lite0_68
"""
from __future__ import annotations

import argparse
from itertools import combinations

import numpy as np

from facepoints import Landmarker
from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.splits import split_records
from facepoints.geometry.boxes import box_from_points
from facepoints.pipeline.images import load_image


def nme(predictions: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """Mean inter-ocular NME (outer eye corners 36 and 45 of the 68 iBUG points)."""
    return float(np.mean([np.linalg.norm(p - t, axis=1).mean() / np.linalg.norm(t[36] - t[45])
                          for p, t in zip(predictions, truths)]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["tufa_lite0_68", "dslpt_lite0_68", "atpn_lite0_68"])
    p.add_argument("--data", default="../shared/data/300W/train.txt")
    args = p.parse_args()

    val = split_records(read_image_list(args.data), "val", 0.1)
    images = [load_image(r.image_path) for r in val]
    truths = [r.landmarks for r in val]
    flipped: dict[str, list[np.ndarray]] = {}
    for name in args.models:
        for flip in (False, True):
            lm = Landmarker(name, detector=None, threads=1, flip_test=flip)
            preds = [lm(img, boxes=[box_from_points(t)])[0].landmarks for img, t in zip(images, truths)]
            print(f"{name}{' --flip-test' if flip else ''}: val NME {100 * nme(preds, truths):.3f} %")
            if flip:
                flipped[name] = preds
    for size in range(2, len(args.models) + 1):
        for group in combinations(args.models, size):
            mean = [np.mean([flipped[m][i] for m in group], axis=0) for i in range(len(truths))]
            print(f"mean of {' + '.join(group)} (flip-tested): val NME {100 * nme(mean, truths):.3f} %")
    print(f"({len(truths)} validation faces of {args.data})")


if __name__ == "__main__":
    main()
