"""``facepoints package RUN --name NAME``: package a training run as a registry model."""
from __future__ import annotations

import argparse

HELP = "package a training run (folder or checkpoint) as a model: weights, ONNX files, sha256s, model card"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN",
                   help="run folder (its best.pt) or training checkpoint, e.g. runs/atpn_lite0_68_long_ft")
    p.add_argument("--name", required=True, help="the model's registry name")
    p.add_argument("--summary", default="", help="one paragraph: what the model is")
    p.add_argument("--metrics", help="JSON written by `facepoints evaluate --json`")
    p.add_argument("--speed", help="JSON written by `facepoints benchmark --json`")
    p.add_argument("--branch-metrics", help="JSON written by `facepoints evaluate-branches` (combined checkpoints)")
    p.add_argument("--extra-metrics", action="append", default=[], metavar="KEY=FILE",
                   help="store another `facepoints evaluate` JSON under metrics[KEY] (repeatable)")
    p.add_argument("--training-notes", default="", help="free text: wall time, machine, data notes")
    p.add_argument("--half", action="store_true", help="store the weights (.pt and .onnx) as float16: half the size; "
                                                       "both runtimes still compute in float32")
    p.add_argument("--no-onnx", action="store_true", help="ship PyTorch weights only (no .onnx file)")
    p.add_argument("--single-file", action="store_true",
                   help="one .onnx file that also holds the PyTorch weights (no .pt, no per-stage files): "
                        "half the size on disk, for large models such as TUFA")
    p.add_argument("--keep-weights", action="store_true",
                   help="only rewrite the card (metrics/speed/notes); leave the exported weights as they are")
    p.add_argument("--replace", action="store_true",
                   help="rewrite an existing model of that name (e.g. a shipped model's new weights or metrics)")
    p.add_argument("--registry-dir", help="write cards/ and weights/ here (default: the user folder, "
                                          "$FACEPOINTS_HOME/models; give src/facepoints/registry to ship a model)")


def run(args: argparse.Namespace) -> int:
    from ..home import user_registry_dir
    from ..registry.packaging import PackageOptions, package_run

    extra = {}
    for item in args.extra_metrics:
        key, sep, file = item.partition("=")
        if not sep or not key or not file:
            raise ValueError(f"--extra-metrics takes KEY=FILE, not {item!r}")
        extra[key] = file
    options = PackageOptions(summary=args.summary, metrics=args.metrics, speed=args.speed,
                             branch_metrics=args.branch_metrics, extra_metrics=extra,
                             training_notes=args.training_notes, half=args.half, onnx=not args.no_onnx,
                             keep_weights=args.keep_weights, replace=args.replace,
                             single_file=args.single_file)
    written = package_run(args.source, args.name, options, args.registry_dir or user_registry_dir())
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
