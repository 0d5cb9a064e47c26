"""``facepoints evaluate-detection``: the whole pipeline with no boxes given (detector, roll,
landmarks, face check) on sets made from an image list: the list as is, its occluded copy,
rotated copies, composite large photos and small faces in 640 x 480 frames; found %, NME on
found faces, FR@0.08 counting misses and ms per image each, then false detections on face-free
images."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .common import (add_checkpoint_argument, add_face_search_arguments, add_model_arguments, add_split_arguments,
                     input_guard, with_checkpoint)

HELP = ("find faces with no boxes given: share found, NME on found faces, FR counting misses, ms per image on the "
        "list, its occluded copy, rotated copies and composite large photos; false detections on face-free images")

CONDITIONS = ("list", "occluded", "rotated", "composite", "small", "face-free")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="iBUG-68 image list (one relative image path per line, .pts beside each)")
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.add_argument("--detector", default="default", help="face detector name (default: the package's default)")
    add_face_search_arguments(p)
    p.add_argument("--whole-image", choices=["fill", "letterbox"], default=None,
                   help="BlazeFace's whole-image pass: fill (the default) or MediaPipe's letterbox")
    p.add_argument("--sets", nargs="+", default=list(CONDITIONS), choices=CONDITIONS, metavar="SET",
                   help=f"which sets to run (default all: {' '.join(CONDITIONS)})")
    p.add_argument("--angles", type=float, nargs="+", default=[90.0, -90.0],
                   help="in-plane angles of the rotated copies, degrees counter-clockwise")
    p.add_argument("--composite-faces", type=int, default=96, help="faces pasted into the composite photos")
    p.add_argument("--small-sides", type=float, nargs="+", default=[80.0, 95.0],
                   help="tight-box sides (pixels) of the faces pasted into 640 x 480 frames (set 'small')")
    p.add_argument("--face-free", type=int, default=200, help="face-free images for the false detections")
    add_split_arguments(p, "tune on val, never on the test list")
    p.add_argument("--face-free-seed", type=int, default=0,
                   help="0: the reported face-free images; other seeds: a disjoint tuning set (other crops, noise)")
    p.add_argument("--every", type=int, default=1, help="use every k-th face of the list (quick runs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the occluded copy and the composites")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")


@with_checkpoint
def run(args: argparse.Namespace) -> int:
    import cv2

    from ..datasets.image_list import read_image_list
    from ..datasets.occluded_copy import occlude_records
    from ..datasets.splits import split_records
    from ..evaluation.detection import count_false_detections, detection_table, score_condition
    from ..detectors import create_detector, default_detector
    from ..evaluation.detection_sets import composites, face_free_images, rotated_copies, small_in_frames
    from ..landmarker import Landmarker

    if args.every < 1 or args.composite_faces < 1 or args.face_free < 0 or args.face_free_seed < 0:
        raise ValueError("--every and --composite-faces must be >= 1, --face-free and --face-free-seed >= 0")
    if not 0.0 < args.val_fraction < 1.0:
        raise ValueError(f"--val-fraction must be between 0 and 1, not {args.val_fraction:g}")
    records = split_records(read_image_list(args.data), args.split, args.val_fraction)[::args.every]
    if not records:
        raise ValueError(f"no faces in the {args.split} split of {args.data}")
    if args.json is not None:
        input_guard(args, records).claim(args.json)
    cv2.setNumThreads(1)
    detector = None if args.detector == "none" else args.detector
    if args.whole_image is not None and detector is not None:
        if detector not in ("default", "blazeface", "blazeface_full"):
            raise ValueError(f"--whole-image is an option of BlazeFace, not of {detector!r}")
        options = {"whole_image": args.whole_image, "min_face_size": args.min_face_size}
        detector = default_detector(**options) if detector == "default" else create_detector(detector, **options)
    lm = Landmarker(args.model, detector=detector, backend=args.backend,
                    threads=args.threads, min_face_size=args.min_face_size, search_rotated=args.search_rotated)
    print(f"{lm!r}, detector {lm.detector!r}, search_rotated={lm.search_rotated}; "
          f"{len(records)} faces of {args.data}"
          + ("" if args.split == "all" else f" ({args.split} split)"))
    results = []
    sets = {
        "list": lambda: ("as is", ((im, r.landmarks[None]) for r in records for im in [_load(r)])),
        "occluded": lambda: (f"occluded copy (seed {args.seed})",
                             ((res.image, r.landmarks[None]) for r, res in occlude_records(records, args.seed))),
    }
    for name in args.sets:
        if name in sets:
            label, samples = sets[name]()
            results.append(score_condition(lm, label, samples))
        elif name == "rotated":
            for angle in args.angles:
                results.append(score_condition(lm, f"rotated {angle:+g} deg", rotated_copies(records, angle)))
        elif name == "small":
            for side in args.small_sides:
                results.append(score_condition(lm, f"{side:g}-px faces in 640x480 frames",
                                               small_in_frames(records, side, seed=args.seed)))
        elif name == "composite":
            results.append(score_condition(lm, f"composite 4000x3000, {args.composite_faces} faces of 40-400 px",
                                           composites(records, args.composite_faces, seed=args.seed)))
        if results and results[-1:] and name != "face-free":
            print(detection_table(results[-1:]).splitlines()[-1], flush=True)
    print(detection_table(results))
    report = {"command": "facepoints evaluate-detection " + " ".join(_argv(args)), "detector": repr(lm.detector),
              "sets": [r.to_dict() for r in results]}
    if "face-free" in args.sets:
        false, hit, n = count_false_detections(lm, face_free_images(args.face_free, seed=args.face_free_seed))
        print(f"false detections on {n} face-free images (seed {args.face_free_seed}): {false} (in {hit} images)")
        report["false_detections"] = {"faces": false, "images_with_any": hit, "images": n,
                                      "seed": args.face_free_seed}
    report["detector_ms"] = _detector_times(lm.detector)
    print("detector alone, one call: " + ", ".join(f"{k} {v:.1f} ms" for k, v in report["detector_ms"].items()))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def _load(record):
    from ..pipeline.images import load_image
    return load_image(record.image_path)


def _argv(args: argparse.Namespace) -> list[str]:
    out = [str(args.data)]
    for key in ("detector", "min_face_size", "whole_image", "every", "seed"):
        value = getattr(args, key)
        if value not in (None, "default", 1, 0):
            out.append(f"--{key.replace('_', '-')} {value:g}" if isinstance(value, float) else
                       f"--{key.replace('_', '-')} {value}")
    if args.split != "all":
        out.append(f"--split {args.split} --val-fraction {args.val_fraction:g}")
    if args.face_free_seed:
        out.append(f"--face-free-seed {args.face_free_seed}")
    if args.search_rotated:
        out.append("--search-rotated")
    if list(args.sets) != list(CONDITIONS):
        out.append("--sets " + " ".join(args.sets))
    return out


def _detector_times(detector, repeat: int = 5) -> dict[str, float]:
    """Best of ``repeat`` detector calls (median would do too) on a 640 x 480 and a 4000 x 3000
    noise-free picture (a blurred gradient: the time, not the faces)."""
    out = {}
    for w, h in ((640, 480), (4000, 3000)):
        y, x = np.mgrid[0:h, 0:w]
        image = np.ascontiguousarray(np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], -1)
                                     .astype(np.uint8))
        detector.detect(image)
        times = []
        for _ in range(repeat if w < 1000 else 2):
            t0 = time.perf_counter()
            detector.detect(image)
            times.append(time.perf_counter() - t0)
        out[f"{w}x{h}"] = 1000.0 * min(times)
    return out
