#!/usr/bin/env python
"""Count false detections on 200 face-free images, for the detector alone and for the Landmarker.

The images (``facepoints.evaluation.detection_sets.face_free_images``, also used by
``facepoints evaluate-detection``): scikit-image's sample photos without faces (coffee, cat, rocket,
stars, tissue, textures, text, coins, horse...), six random crops of each at random scales, then uniform
noise, blurred noise and flat colours up to 200. The Landmarker drops detections whose crop
its face-confidence branch scores below ``min_confidence`` (0.5), so its count is the one a
user sees.

    python tools/count_false_detections.py blazeface dlib_hog
"""
from __future__ import annotations

import argparse
import sys

import facepoints
from facepoints.detectors import create_detector
from facepoints.evaluation.detection_sets import face_free_images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detectors", nargs="+")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    images = face_free_images(args.n)
    for name in args.detectors:
        detector = create_detector(name)
        raw = [len(detector.detect(im)) for im in images]
        lm = facepoints.Landmarker(detector=name, threads=1)
        kept = [len(lm(im)) for im in images]
        print(f"{name}: detector alone {sum(raw)} false detections in {sum(r > 0 for r in raw)} of "
              f"{len(images)} images; Landmarker (face-confidence check) {sum(kept)} in "
              f"{sum(k > 0 for k in kept)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
