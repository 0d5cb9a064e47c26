"""``facepoints benchmark``: landmark-stage speed (one thread, batch 1) on this CPU."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_model_arguments

HELP = "time the landmark stage of a model (median ms per face, one thread, batch 1)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.set_defaults(threads=1)
    p.add_argument("--repeats", type=int, default=300)
    p.add_argument("--json", type=Path, help="also write the numbers here")


def run(args: argparse.Namespace) -> int:
    from ..evaluation.speed import time_landmark_stage
    from ..landmarker import Landmarker

    rows = []
    backends = ["onnx", "torch"] if args.backend == "auto" else [args.backend]
    for backend in backends:
        lm = Landmarker(args.model, detector=None, backend=backend, threads=args.threads)
        row = time_landmark_stage(lm, repeats=args.repeats)
        row["threads"] = args.threads
        rows.append(row)
        print(f"{row['model']} [{row['runtime']}] threads={args.threads} batch=1: "
              f"median {row['median_ms']:.2f} ms/face (p90 {row['p90_ms']:.2f} ms, n={row['repeats']})")
    if args.json:
        args.json.write_text(json.dumps({"landmark_stage": rows,
                                         "command": f"facepoints benchmark --model {args.model}"}, indent=1))
    return 0
