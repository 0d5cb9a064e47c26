"""``facepoints annotate INPUT --out OUT/``: many images into Parquet tables, one row per face."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_checkpoint_argument, with_checkpoint

HELP = "annotate a folder, glob or list of images into Parquet tables (one row per face; resumable)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..registry import DEFAULT_MODEL

    p.add_argument("input", metavar="INPUT", help="a folder (recursive), a glob, a text list of images (one per line), "
                                                  "or a URL fsspec reads")
    p.add_argument("--out", required=True, type=Path, help="output folder for the Parquet parts (a rerun skips "
                                                            "the images already there)")
    p.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="local: threads on this machine; ray: a Ray Data pipeline (RAY_ADDRESS's cluster, else a "
                        "local one; needs the [ray] extra)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="registry name (see `facepoints models`)")
    add_checkpoint_argument(p)
    p.add_argument("--workers", type=int, default=2, help="threads (local) or Ray actors (ray), one network thread each")
    p.add_argument("--batch-size", type=int, default=16, help="images per Ray batch")
    p.add_argument("--part-size", type=int, default=256, help="images per Parquet part (local) / rows per file (ray)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@with_checkpoint
def run(args: argparse.Namespace) -> int:
    from ..annotate import AnnotateOptions, annotate
    from ..registry import get_card

    if args.checkpoint and args.engine == "ray":  # Ray's actors load models by name, not this process's
        raise ValueError("--engine ray takes a registry name: `facepoints package CHECKPOINT --name NAME` saves it "
                         "in the user folder, then give --model NAME")
    get_card(args.model)  # an unknown model: one line before any work
    options = AnnotateOptions(model=args.model, engine=args.engine, workers=args.workers, batch_size=args.batch_size,
                              part_size=args.part_size, progress=not args.no_progress)
    summary = annotate(args.input, args.out, options)
    for part in summary.broken_parts:
        print(f"unreadable part {part}: its images were annotated again")
    rate = f" ({summary.images_per_second:.1f} images/s)" if summary.annotated else ""
    print(f"{summary.images} images: {summary.annotated} annotated in {summary.seconds:.1f} s{rate}, "
          f"{summary.skipped} already in {args.out}")
    return 0
