"""``facepoints benchmark``: per-face speed (one thread, batch 1) on this CPU: the network on a
crop (all its outputs: landmarks, and pose + face confidence for multitask models) and the
whole per-face step of tracking mode (crop warp + network + decoding). With ``--batch IMAGES``:
images per second of the one-image loop and of ``Landmarker.batch``, side by side."""
from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
from pathlib import Path

from ..pipeline.overwrite import OutputGuard
from .common import add_checkpoint_argument, add_model_arguments, model_name

HELP = "time a model per face (network on a crop, and crop + network + decoding; one thread, batch 1)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.set_defaults(threads=1)
    p.add_argument("--repeats", type=int, default=300)
    p.add_argument("--json", type=Path, help="also write the numbers here")
    p.add_argument("--batch", nargs="+", type=Path, metavar="IMAGES",
                   help="instead: images/s of the one-image loop and of Landmarker.batch on these images (files, "
                        "folders, glob patterns, or a .txt list of image paths relative to its folder)")
    p.add_argument("--limit", type=int, default=300, help="--batch: at most this many images (default 300)")
    p.add_argument("--workers", type=int, default=2, help="--batch: decode + detection threads (default 2)")
    p.add_argument("--batch-size", type=int, default=16, help="--batch: images per network call (default 16)")
    p.add_argument("--rounds", type=int, default=3,
                   help="--batch, --against: alternating rounds of both (default 3)")
    p.add_argument("--against", metavar="MODEL",
                   help="also time this registered model (e.g. atpn_lite0_68) in alternating rounds, one backend "
                        "(--backend, default ONNX Runtime), and print each step's ratio to it")


def run(args: argparse.Namespace) -> int:
    from ..evaluation.speed import time_landmark_stage, time_tracking_step
    from ..landmarker import Landmarker

    if args.json:
        OutputGuard([args.checkpoint] if args.checkpoint else []).claim(args.json, "--json")
    if args.batch and args.against:
        raise ValueError("--against times single faces side by side; it does not combine with --batch")
    if args.batch:
        return run_batch(args)
    if args.against:
        return run_against(args)
    rows: dict[str, list[dict]] = {"landmark_stage": [], "tracking_step": []}
    backends = ["onnx", "torch"] if args.backend == "auto" else [args.backend]
    if args.backend == "auto" and importlib.util.find_spec("torch") is None:
        backends = ["onnx"]  # PyTorch is the optional [train] extra
    with tempfile.TemporaryDirectory() as tmp:
        name = model_name(args, tmp)
        landmarkers = [Landmarker(name, detector=None, backend=b, threads=args.threads) for b in backends]
    for lm in landmarkers:
        for key, timer, what in (("landmark_stage", time_landmark_stage, "network on a crop"),
                                 ("tracking_step", time_tracking_step, "crop + network + decode")):
            row = timer(lm, repeats=args.repeats)
            row["threads"] = args.threads
            rows[key].append(row)
            print(speed_line(row, what))
    if args.json:
        source = f"--checkpoint {args.checkpoint}" if args.checkpoint else f"--model {args.model}"
        args.json.write_text(json.dumps({**rows, "command": f"facepoints benchmark {source}"}, indent=1))
    return 0


def speed_line(row: dict, what: str) -> str:
    """One timing row as the line the command prints."""
    return (f"{row['model']} [{row['runtime']}] {what} ({' + '.join(row['outputs'])}) threads={row['threads']} "
            f"batch=1: median {row['median_ms']:.2f} ms/face (p90 {row['p90_ms']:.2f} ms, n={row['repeats']})")


def run_against(args: argparse.Namespace) -> int:
    """The model and ``--against`` timed side by side; ratios to ``--against``."""
    from ..evaluation.speed import time_side_by_side
    from ..landmarker import Landmarker

    backend = "onnx" if args.backend == "auto" else args.backend
    with tempfile.TemporaryDirectory() as tmp:
        name = model_name(args, tmp)
        pair = [Landmarker(m, detector=None, backend=backend, threads=args.threads) for m in (args.against, name)]
    rows = time_side_by_side(pair, repeats=args.repeats, rounds=args.rounds)
    for key, what in (("landmark_stage", "network on a crop"), ("tracking_step", "crop + network + decode")):
        for row in rows[key]:
            row["threads"] = args.threads
            print(f"{speed_line(row, what)}; {row['ratio']:.2f}x {args.against}")
    if args.json:
        source = f"--checkpoint {args.checkpoint}" if args.checkpoint else f"--model {args.model}"
        args.json.write_text(json.dumps({**rows, "command": f"facepoints benchmark {source} --against {args.against} "
                                         f"--rounds {args.rounds}"}, indent=1))
    return 0


def batch_images(inputs: list[Path], limit: int) -> list[Path]:
    """Images from files, folders, patterns and ``.txt`` lists (paths relative to the list), first ``limit``."""
    from .image_inputs import expand_inputs

    paths: list[Path] = []
    for item in inputs:
        if item.suffix.lower() == ".txt" and item.is_file():
            paths += [item.parent / line.strip() for line in item.read_text().splitlines()
                      if line.strip() and not line.startswith("#")]
        else:
            paths += [f.path for f in expand_inputs([item])[0]]
    if limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    return paths[:limit]


def run_batch(args: argparse.Namespace) -> int:
    from ..detectors import create_detector
    from ..evaluation.throughput import time_throughput
    from ..landmarker import Landmarker

    for flag in ("workers", "batch_size", "rounds"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= 1, got {getattr(args, flag)}")
    paths = batch_images(args.batch, args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        name = model_name(args, tmp)
        lm = Landmarker(name, backend=args.backend, threads=args.threads)
        try:  # the same detector with one ONNX Runtime thread, as each batch worker has
            lean = Landmarker(name, backend=args.backend, threads=args.threads,
                              detector=create_detector(lm.detector.name, threads=1))
        except TypeError:  # a detector without a threads option
            lean = None
    row = time_throughput(lm, paths, args.workers, args.batch_size, args.rounds, lean)
    row["threads"] = args.threads
    print(f"{row['model']} [{row['runtime']}] {row['images']} images, network threads={args.threads}, "
          f"batch: workers={args.workers}, batch size={args.batch_size}; "
          f"load {row['load_average'][0]:.1f}-{row['load_average'][1]:.1f}")
    labels = {"loop": "one-image loop", "loop_1thread_detector": "loop, 1-thread detector", "batch": "batch"}
    for r in range(args.rounds):
        parts = [f"{label} {row[f'{key}_images_per_s'][r]:.1f}" for key, label in labels.items()
                 if f"{key}_images_per_s" in row]
        ratios = [f"{row[f'ratio_to_{key}_per_round'][r]:.2f}x" for key in labels if f"ratio_to_{key}_per_round" in row]
        print(f"  round {r + 1} (images/s): {', '.join(parts)}; batch / loops: {' / '.join(ratios)}")
    medians = [f"{label} {row[f'median_{key}']:.1f}" for key, label in labels.items() if f"median_{key}" in row]
    ratios = [f"{row[f'median_ratio_to_{key}']:.2f}x" for key in labels if f"median_ratio_to_{key}" in row]
    found = sorted({row[f"faces_{key}"] for key in labels if f"faces_{key}" in row})
    print(f"median images/s: {', '.join(medians)}; batch / loops: {' / '.join(ratios)}; faces found: "
          f"{found[0] if len(found) == 1 else found}")
    if args.json:
        args.json.write_text(json.dumps({**row, "command": "facepoints benchmark --batch ..."}, indent=1))
    return 0
