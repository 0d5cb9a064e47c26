#!/usr/bin/env python
"""Found % of small faces in a large photo: annotated faces pasted into a face-free collage.

Builds a 4,000 x 3,000 collage of scikit-image's face-free photos (coffee, cat, rocket,
stars, tissue), pastes 48 faces of an image list (each with its surroundings, 2x the tight
landmark box) so their tight boxes are 40-400 px, runs a detector and counts a face as found
when a detection's centre lies within half its tight-box side of the face's centre. Other
detections count as false (some crops hold a second, unannotated person). Nothing is written.

    python tools/collage_found_rate.py blazeface -o min_face_size=40
    python tools/collage_found_rate.py blazeface -o min_face_size=40 -o pyramid_score_threshold=0.5
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data as skd

from facepoints.datasets.image_list import read_image_list
from facepoints.detectors import create_detector
from facepoints.evaluation.detection_sets import face_patch
from facepoints.geometry import box_from_points
from tool_options import key_value_option

REPO = Path(__file__).resolve().parents[1]
SIZES = (40, 50, 60, 80, 100, 140, 200, 300, 400)


def collage(list_path: Path, seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """(3000, 4000, 3) RGB collage and its faces as (centre x, centre y, tight side)."""
    rng = np.random.default_rng(seed)
    width, height = 4000, 3000
    out = np.zeros((height, width, 3), np.uint8)
    photos = [skd.coffee(), skd.chelsea(), skd.rocket(), skd.hubble_deep_field(), skd.immunohistochemistry()]
    for y in range(0, height, 1000):
        for x in range(0, width, 1000):
            out[y:y + 1000, x:x + 1000] = cv2.resize(photos[rng.integers(len(photos))], (1000, 1000))
    records = read_image_list(list_path)
    faces = []
    for k in range(48):
        side_px = SIZES[k % len(SIZES)]
        rec = records[rng.integers(len(records))]
        patch, points = face_patch(rec, side_px)
        ox, oy = (k % 8) * 500 + 20, (k // 8) * 500 + 20
        ph, pw = min(patch.shape[0], height - oy), min(patch.shape[1], width - ox)
        out[oy:oy + ph, ox:ox + pw] = patch[:ph, :pw]
        box = box_from_points(points)
        faces.append(((box[0] + box[2]) / 2 + ox, (box[1] + box[3]) / 2 + oy, float(side_px)))
    return out, faces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detector")
    parser.add_argument("--option", "-o", action="append", type=key_value_option, default=[], metavar="KEY=VALUE")
    parser.add_argument("--list", type=Path, default=REPO / "../shared/data/300W/test_common.txt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    image, faces = collage(args.list, args.seed)
    options = dict(args.option)
    if args.detector.startswith("blazeface"):
        options.setdefault("threads", 1)
    detector = create_detector(args.detector, **options)
    t0 = time.perf_counter()
    dets = detector.detect(image)
    seconds = time.perf_counter() - t0

    def hit(d, face) -> bool:
        return float(np.hypot(d.center[0] - face[0], d.center[1] - face[1])) < face[2] / 2

    found = [any(hit(d, f) for d in dets) for f in faces]
    false = sum(not any(hit(d, f) for f in faces) for d in dets)
    missed = sorted(int(f[2]) for f, ok in zip(faces, found) if not ok)
    print(f"{detector!r}: found {sum(found)}/{len(faces)} faces = {np.mean(found):.1%}, "
          f"{false} other detections, {seconds:.1f} s; missed face sizes {missed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
