#!/usr/bin/env python
"""Fit a face detector's box calibration on annotated faces and write it as package data.

Runs the detector over every image of an image list (default: the 300W training list in
../shared/data, relative to the repository root), matches each face's tight 68-landmark
box to the detection that overlaps it most (IoU > 0.3 with the raw detector box; the
crops can show other faces, which are simply not matched), fits a `BoxCalibration` and
writes ``src/facepoints/pipeline/calibrations/<detector>.json``: the four fitted numbers,
their spread, the number of matched faces, the detection rate and this command. Nothing
else from the data goes into the repository.

Each image is first rescaled by a random factor (log-uniform in [0.5, 1.5], fixed seed):
3/4 of the 300W crops show a face of exactly 160 px, and a detector's boxes come in the
sizes of its image pyramid, so a fit at one face size carries that size's rounding
(for dlib: scales 0.99/0.96 at 160 px against 0.95/0.93 over many sizes).

    .venv/bin/python tools/fit_detector_calibration.py dlib_hog
    .venv/bin/python tools/fit_detector_calibration.py opencv_haar --limit 200 --no-write
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facepoints.datasets.image_list import read_image_list
from facepoints.detectors import create_detector
from facepoints.geometry import box_from_points, box_iou
from facepoints.pipeline.box_calibration import BoxCalibration
from facepoints.pipeline.images import load_image
from tool_options import key_value_option

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LIST = "../shared/data/300W/train.txt"
CAL_DIR = REPO / "src" / "facepoints" / "pipeline" / "calibrations"


def _parse_range(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(",")
    lo, hi = float(lo), float(hi or lo)
    if not 0 < lo <= hi:
        raise argparse.ArgumentTypeError(f"expected LO,HI with 0 < LO <= HI, got {text!r}")
    return lo, hi


def _rescale(image: np.ndarray, points: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize by ``factor``; points follow (pixel centres at integers, as cv2.resize)."""
    if factor == 1.0:
        return image, points
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    out = cv2.resize(image, size, interpolation=interp)
    sx, sy = size[0] / w, size[1] / h
    return out, (points + 0.5) * np.array([sx, sy], np.float32) - 0.5


def _median_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.median([box_iou(x[None], y[None])[0, 0] for x, y in zip(a, b)])) if len(a) else float("nan")


def _q(values, qs=(1, 5, 50, 95)) -> str:
    if len(values) == 0:
        return "-"
    return ", ".join(f"p{q}={np.percentile(values, q):.2f}" for q in qs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detector", help="registered detector name (dlib_hog, opencv_haar, ...)")
    parser.add_argument("--list", default=DEFAULT_LIST,
                        help=f"image list, relative to the repository root (default {DEFAULT_LIST})")
    parser.add_argument("--option", "-o", action="append", type=key_value_option, default=[],
                        metavar="KEY=VALUE", help="detector keyword argument (repeatable)")
    parser.add_argument("--iou", type=float, default=0.3, help="min IoU to match a detection to a face")
    parser.add_argument("--rescale", type=_parse_range, default=(0.5, 1.5), metavar="LO,HI",
                        help="rescale each image by a random factor, log-uniform in [LO, HI] "
                             "(default 0.5,1.5; 1,1 = off): spreads the face sizes over the "
                             "detectors' image pyramids (3/4 of the 300W crops show a 160-px face)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rescale factors")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N faces")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output JSON (default src/facepoints/pipeline/calibrations/<detector>.json)")
    parser.add_argument("--no-write", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)

    cv2.setNumThreads(args.threads)
    list_path = Path(args.list)
    if not list_path.is_absolute():
        list_path = REPO / list_path
    records = read_image_list(list_path)
    if args.limit:
        records = records[: args.limit]
    options = dict(args.option)
    detector = create_detector(args.detector, **options)
    print(f"{detector!r} on {len(records)} faces of {args.list}")

    det_boxes, tight_boxes, matched_scores, other_scores = [], [], [], []
    n_images_with_other = 0
    seconds, max_side = 0.0, 0
    rng = np.random.default_rng(args.seed)
    lo, hi = np.log(args.rescale)
    for rec in tqdm(records, desc=args.detector, unit="face"):
        image, points = _rescale(load_image(rec.image_path), rec.landmarks, float(np.exp(rng.uniform(lo, hi))))
        max_side = max(max_side, *image.shape[:2])
        t0 = time.perf_counter()
        dets = detector.detect(image)
        seconds += time.perf_counter() - t0
        tight = box_from_points(points)
        best = -1
        if dets:
            ious = box_iou(np.stack([d.box for d in dets]), tight[None])[:, 0]
            best = int(np.argmax(ious)) if ious.max() > args.iou else -1
        if best >= 0:
            det_boxes.append(dets[best].box)
            tight_boxes.append(tight)
            matched_scores.append(dets[best].score)
        others = [d.score for i, d in enumerate(dets) if i != best]
        other_scores.extend(others)
        n_images_with_other += bool(others)

    n, k = len(records), len(det_boxes)
    if k == 0:
        print("no face matched: nothing to fit", file=sys.stderr)
        return 1
    det_boxes, tight_boxes = np.stack(det_boxes), np.stack(tight_boxes)
    rel_list = args.list if not Path(args.list).is_absolute() else str(list_path)
    command = " ".join(["python", "tools/fit_detector_calibration.py",
                        *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    cal = BoxCalibration.fit(det_boxes, tight_boxes, detector=args.detector)
    before, after = _median_iou(det_boxes, tight_boxes), _median_iou(cal.apply(det_boxes), tight_boxes)
    # held-out check: fit on even faces, measure on odd ones
    half = BoxCalibration.fit(det_boxes[::2], tight_boxes[::2], detector=args.detector) if k >= 4 else cal
    held_out = _median_iou(half.apply(det_boxes[1::2]), tight_boxes[1::2]) if k >= 4 else float("nan")

    meta = {
        "data": rel_list, "n_faces": n, "n_matched": k, "detection_rate": round(k / n, 4),
        "match_iou": args.iou, "rescale": list(args.rescale), "seed": args.seed, "detector_options": options, "detector_repr": repr(detector),
        "median_iou_raw": round(before, 4), "median_iou_calibrated": round(after, 4),
        "median_iou_calibrated_held_out": round(held_out, 4),
        "command": command, "date": _dt.date.today().isoformat(),
        "versions": _versions(),
    }
    cal = dataclasses.replace(cal, meta=meta)

    print(f"\n{args.detector}: detected {k}/{n} faces = {k / n:.1%} "
          f"({seconds / n * 1000:.1f} ms per image, images <= {max_side} px)")
    print(f"  fit: offset=({cal.offset_x:+.4f}, {cal.offset_y:+.4f}) x box, "
          f"scale=({cal.scale_w:.4f}, {cal.scale_h:.4f}); spread "
          + ", ".join(f"{k_}={v:.3f}" for k_, v in cal.spread.items()))
    print(f"  median IoU with the tight landmark box: raw {before:.3f} -> calibrated {after:.3f} "
          f"(held-out half: {held_out:.3f})")
    print(f"  scores of matched faces: {_q(matched_scores)}")
    print(f"  other detections: {len(other_scores)} in {n_images_with_other} images; scores {_q(other_scores)}")

    if not args.no_write:
        out = args.out or CAL_DIR / f"{args.detector}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(cal.to_json())
        print(f"  wrote {out.relative_to(REPO) if out.resolve().is_relative_to(REPO) else out}")
    return 0


def _versions() -> dict[str, str]:
    out = {"opencv": cv2.__version__}
    try:
        import dlib
        out["dlib"] = dlib.__version__
    except ImportError:
        pass
    return out


if __name__ == "__main__":
    sys.exit(main())
