"""``facepoints benchmark``: per-face speed (one thread, batch 1) on this CPU: the network on a
crop (all its outputs: landmarks, and pose + face confidence for multitask models) and the
whole per-face step of tracking mode (crop warp + network + decoding)."""
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


def run(args: argparse.Namespace) -> int:
    from ..evaluation.speed import time_landmark_stage, time_tracking_step
    from ..landmarker import Landmarker

    if args.json:
        OutputGuard([args.checkpoint] if args.checkpoint else []).claim(args.json, "--json")
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
            print(f"{row['model']} [{row['runtime']}] {what} ({' + '.join(row['outputs'])}) threads={args.threads} "
                  f"batch=1: median {row['median_ms']:.2f} ms/face (p90 {row['p90_ms']:.2f} ms, n={row['repeats']})")
    if args.json:
        source = f"--checkpoint {args.checkpoint}" if args.checkpoint else f"--model {args.model}"
        args.json.write_text(json.dumps({**rows, "command": f"facepoints benchmark {source}"}, indent=1))
    return 0
