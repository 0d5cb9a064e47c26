"""``facepoints plane``: the canonical face plane with a model's anchors (or a scheme's mean
shape) as a PNG, to pick zero-shot points for ``detect --points``."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..pipeline.overwrite import OutputGuard
from .common import add_checkpoint_argument, to_json, with_checkpoint
from .points_file import read_points_file

HELP = "draw the canonical face plane with a TUFA model's anchors or a scheme's mean shape (PNG)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="a TUFA model (registry name): draw its learned anchors")
    add_checkpoint_argument(p)
    p.add_argument("--scheme", help="with --model: one of its landmark sets (default: its default set); "
                                    "without: a shipped scheme whose mean shape to draw (default: ibug68)")
    p.add_argument("--points", type=Path, help="JSON list of [x, y] (or name -> [x, y]) plane points to add")
    p.add_argument("--size", type=int, default=768, help="image side in pixels")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--json", type=Path, help="also write the drawn plane coordinates as JSON")


def plane_anchors(model: str | None, scheme: str | None) -> tuple[np.ndarray, str]:
    """Anchors to draw and a title: a model's learned ones or a scheme's mean shape."""
    if model:
        from ..landmarker import Landmarker

        lm = Landmarker(model, detector=None)  # a TUFA ONNX file carries its anchors: no PyTorch needed
        return lm.plane_points(scheme), f"{model}: {scheme or 'default'} anchors"
    from ..schemes import scheme_plane_points

    name = scheme or "ibug68"
    return scheme_plane_points(name), f"{name} mean shape"


@with_checkpoint
def run(args: argparse.Namespace) -> int:
    from ..drawing import render_plane

    if args.size < 64:
        raise ValueError(f"--size must be at least 64 pixels, got {args.size}")
    guard = OutputGuard([p for p in (args.points, args.checkpoint) if p])
    guard.claim(args.out, "--out")
    if args.json:
        guard.claim(args.json, "--json")
    anchors, title = plane_anchors(args.model, args.scheme)
    extra = None
    if args.points:
        names, points = read_points_file(args.points)
        extra = points if names is None else dict(zip(names, points.tolist()))
    render_plane(anchors, extra_points=extra, size=args.size, path=args.out, title=title)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(to_json({"title": title, "anchors": np.round(anchors.astype(np.float64), 5).tolist()}))
    print(f"{title}: {len(anchors)} points -> {args.out}")
    return 0
