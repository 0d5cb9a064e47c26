#!/usr/bin/env python
"""Count false detections on 200 face-free images, for the detector alone and for the Landmarker.

The images: scikit-image's sample photos without faces (coffee, cat, rocket, stars, tissue,
textures, text, coins, horse...), six random crops of each at random scales, then uniform
noise, blurred noise and flat colours up to 200. The Landmarker drops detections whose crop
its face-confidence branch scores below ``min_confidence`` (0.5), so its count is the one a
user sees.

    python tools/count_false_detections.py blazeface dlib_hog
"""
from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np
from skimage import data as skd

import facepoints
from facepoints.detectors import create_detector

PHOTOS = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "brick", "grass",
          "gravel", "moon", "page", "text", "coins", "horse", "clock", "checkerboard", "retina",
          "colorwheel", "logo", "cell")


def face_free_images(n: int = 200, seed: int = 0) -> list[np.ndarray]:
    """``n`` RGB uint8 images without faces (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    images = []
    for name in PHOTOS:
        im = getattr(skd, name)()
        if im.dtype != np.uint8:
            im = (255 * (im.astype(float) / max(1, im.max()))).astype(np.uint8)
        im = np.repeat(im[..., None], 3, 2) if im.ndim == 2 else im[..., :3]
        images.append(np.ascontiguousarray(im))
        for _ in range(6):
            h, w = im.shape[:2]
            s, f = rng.uniform(0.3, 0.8), rng.uniform(0.5, 2.0)
            ch, cw = int(h * s), int(w * s)
            y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            images.append(cv2.resize(im[y:y + ch, x:x + cw], (max(16, int(cw * f)), max(16, int(ch * f)))))
    while len(images) < n:
        h, w = rng.integers(200, 800, 2)
        kind = len(images) % 3
        noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        images.append(noise if kind == 0 else cv2.GaussianBlur(noise, (0, 0), rng.uniform(1, 6)) if kind == 1
                      else np.full((h, w, 3), rng.integers(0, 256, 3), np.uint8))
    return [np.ascontiguousarray(im) for im in images[:n]]


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
