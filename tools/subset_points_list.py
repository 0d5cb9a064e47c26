"""Turn an image list with 68-point ``.pts`` files into a list of the same faces annotated with a
subset of the points, in a new order: the data of a few-shot run on a "new" scheme (docs/tufa.md,
"Few-shot from a fresh install"). Images are linked, not copied; each link gets a ``.pts`` of the
chosen points.

    python tools/subset_points_list.py ../shared/data/300W/train.txt --out runs/my10/train \
        --points 36 39 42 45 30 48 54 51 57 8
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from facepoints.datasets.formats.pts import read_pts, write_pts
from facepoints.pipeline.overwrite import OverwriteError


def write_subset(source: Path, out: Path, points: list[int]) -> Path:
    """Write ``out/list.txt`` and one linked image plus ``.pts`` per face of ``source``; returns the list."""
    if out.exists() and any(out.iterdir()):
        raise OverwriteError(f"{out} exists and is not empty; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for line in source.read_text().splitlines():
        if not line.strip():
            continue
        image = source.parent / line.strip()
        shape = read_pts(image.with_suffix(".pts"))
        if max(points) >= len(shape):
            raise ValueError(f"{image.with_suffix('.pts')}: {len(shape)} points, no point {max(points)}")
        name = line.strip().replace("/", "__")
        link = out / name
        os.symlink(image.resolve(), link)
        write_pts(link.with_suffix(".pts"), shape[points])
        names.append(name)
    listing = out / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    return listing


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="image list (.pts beside each image)")
    ap.add_argument("--points", type=int, nargs="+", required=True, help="0-based indices to keep, in the new order")
    ap.add_argument("--out", type=Path, required=True, help="new, empty folder")
    args = ap.parse_args(argv)
    try:
        if len(set(args.points)) != len(args.points) or min(args.points) < 0:
            raise ValueError("--points must be distinct indices >= 0")
        print(write_subset(args.source, args.out, args.points))
    except (OSError, ValueError) as exc:
        print(f"subset_points_list: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
