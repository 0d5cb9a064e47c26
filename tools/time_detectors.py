#!/usr/bin/env python
"""Time face detectors on one thread: a 640 x 480 photo and a 4,000 x 3,000 photo.

The photos are made from scikit-image's samples: the astronaut portrait scaled into a
640 x 480 picture, and a 4,000 x 3,000 collage of face-free photos (coffee, cat, rocket)
with the astronaut's face pasted 12 times at 40-400 px. Prints the median and best time
of ``--repeat`` runs after one warm-up run, and how many faces each detector found.

    python tools/time_detectors.py blazeface blazeface_full dlib_hog
    python tools/time_detectors.py blazeface --option min_face_size=40 --large-only
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import cv2
import numpy as np
from skimage import data as skd

from facepoints.detectors import create_detector
from tool_options import key_value_option


def photos() -> dict[str, tuple[np.ndarray, int]]:
    """name -> (RGB image, number of faces in it)."""
    astronaut = skd.astronaut()
    small = np.zeros((480, 640, 3), np.uint8)
    small[:, 80:560] = cv2.resize(astronaut, (480, 480), interpolation=cv2.INTER_AREA)
    scene = np.zeros((3000, 4000, 3), np.uint8)
    backgrounds = [skd.coffee(), skd.chelsea(), skd.rocket()]
    for k, (y, x) in enumerate((y, x) for y in range(0, 3000, 1000) for x in range(0, 4000, 1000)):
        scene[y:y + 1000, x:x + 1000] = cv2.resize(backgrounds[k % 3], (1000, 1000))
    face = astronaut[40:200, 130:310]  # ~95 px face in 160 x 180
    for k, side in enumerate(np.geomspace(40, 400, 12)):
        scale = side / 95
        patch = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        y, x = 150 + (k // 4) * 950, 150 + (k % 4) * 950
        scene[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
    return {"640x480": (small, 1), "4000x3000": (scene, 12)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detectors", nargs="+")
    parser.add_argument("--option", "-o", action="append", type=key_value_option, default=[], metavar="KEY=VALUE",
                        help="keyword argument for every BlazeFace detector (repeatable)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--large-only", action="store_true")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    images = photos()
    for name in args.detectors:
        kwargs = {"threads": 1, **dict(args.option)} if name.startswith("blazeface") else {}
        detector = create_detector(name, **kwargs)
        for label, (image, n_faces) in images.items():
            if args.large_only and label != "4000x3000":
                continue
            detector.detect(image)
            repeat = args.repeat if image.size < 5e6 else max(1, args.repeat // 10)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                found = detector.detect(image)
                times.append(time.perf_counter() - t0)
            print(f"{detector!r} {label}: median {statistics.median(times) * 1000:.1f} ms, "
                  f"best {min(times) * 1000:.1f} ms ({repeat} runs); {len(found)} detections, "
                  f"{n_faces} faces in the photo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
