#!/usr/bin/env python
"""Found % and roll error of a keypoint detector on rotated copies of annotated faces.

Each image of the list is rotated in-plane by each angle (whole image kept, black corners);
a face counts as found when a detection's centre lies within one inter-ocular distance of
the landmarks' centre. Roll is estimated from the detection's eye keypoints (BlazeFace:
keypoints 0 and 1, the subject's right and left eye) and compared with the eye centres'
angle. Nothing is written; a probe for the rotation work of issue 14.

    python tools/rotated_found_rate.py blazeface --angles 0 30 60 90 -90 180
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from facepoints.datasets.image_list import read_image_list
from facepoints.detectors import create_detector
from facepoints.evaluation.detection_sets import rotate_image as rotate
from facepoints.pipeline.images import load_image

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detector")
    parser.add_argument("--list", type=Path, default=REPO / "../shared/data/300W/test_common.txt")
    parser.add_argument("--angles", type=float, nargs="+", default=[0, 30, 60, 90, -90, 180])
    args = parser.parse_args(argv)
    detector = create_detector(args.detector)
    data = [(load_image(r.image_path), r.landmarks) for r in read_image_list(args.list)]
    for angle in args.angles:
        found, errors = 0, []
        for image, points in data:
            rimg, rp = rotate(image, points, angle)
            right, left = rp[36:42].mean(0), rp[42:48].mean(0)
            hits = [d for d in detector.detect(rimg)
                    if np.linalg.norm(d.center - rp.mean(0)) < np.linalg.norm(left - right)]
            if not hits:
                continue
            found += 1
            if hits[0].keypoints is not None:
                k = hits[0].keypoints
                est = np.degrees(np.arctan2(k[1, 1] - k[0, 1], k[1, 0] - k[0, 0]))
                true = np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0]))
                errors.append(abs((est - true + 180) % 360 - 180))
        roll = (f", |roll error| median {np.median(errors):.1f}, p95 {np.percentile(errors, 95):.1f} deg"
                if errors else "")
        print(f"rotated {angle:+.0f} deg: found {found}/{len(data)} = {found / len(data):.1%}{roll}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
