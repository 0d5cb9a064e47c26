"""Write a synthetically occluded copy of an iBUG-68 image list (e.g. the 300W test set).

Usage:
  python tools/make_occluded_testset.py ../shared/data/300W/test_common.txt --out /tmp/occluded300w \\
      --seed 0 --preview /tmp/occluded_preview.png

Writes images + ``.pts`` in the input's layout, the list file and ``occlusion.json`` (per-point
occlusion flags) under ``--out``; prints the fraction of points occluded overall and per kind;
``--preview`` saves a grid of 8 examples (red points: occluded, green: visible).
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facepoints.datasets.image_list import read_image_list
from facepoints.datasets.occluded_copy import read_occlusion_flags, read_occlusion_kinds, write_occluded_copy
from facepoints.datasets.occlusion import KINDS, OccluderConfig
from facepoints.pipeline.images import load_image

TILE = 256
COLOURS = {True: (255, 40, 40), False: (40, 220, 40)}  # RGB: occluded, visible


def summary(out_dir: Path) -> str:
    """Fraction of points occluded overall and per occluder kind."""
    flags, kinds = read_occlusion_flags(out_dir), read_occlusion_kinds(out_dir)
    by_kind: dict[str, list[np.ndarray]] = defaultdict(list)
    for name, f in flags.items():
        by_kind[kinds[name]].append(f)
    lines = [f"occluded points: {np.mean(np.concatenate(list(flags.values()))):.3f} of {len(flags)} faces"]
    for kind, fs in sorted(by_kind.items()):
        lines.append(f"  {kind:10s} {np.mean(np.concatenate(fs)):.3f} ({len(fs)} faces)")
    return "\n".join(lines)


def preview(list_path: Path, path: Path, count: int = 8) -> None:
    """Save a 4-wide grid of ``count`` evenly spaced faces with their points coloured by flag."""
    records = read_image_list(list_path)
    flags, kinds = read_occlusion_flags(list_path.parent), read_occlusion_kinds(list_path.parent)
    tiles = []
    for i in np.linspace(0, len(records) - 1, min(count, len(records))).round().astype(int):
        record = records[i]
        name = record.image_path.relative_to(list_path.parent).as_posix()
        image = load_image(record.image_path)
        f = TILE / max(image.shape[:2])
        tile = np.zeros((TILE, TILE, 3), np.uint8)
        small = cv2.resize(image, (round(image.shape[1] * f), round(image.shape[0] * f)), interpolation=cv2.INTER_AREA)
        tile[:small.shape[0], :small.shape[1]] = small
        for (x, y), occluded in zip(record.landmarks * f, flags[name]):
            cv2.circle(tile, (int(round(x)), int(round(y))), 2, COLOURS[bool(occluded)], -1, cv2.LINE_AA)
        cv2.putText(tile, kinds[name], (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
        tiles.append(tile)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 4)
    grid = np.concatenate([np.concatenate(tiles[r:r + 4], 1) for r in range(0, len(tiles), 4)], 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("list", type=Path, help="image list (one relative image path a line, .pts beside each)")
    ap.add_argument("--out", type=Path, required=True, help="output folder for the occluded copy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(OccluderConfig().kinds))
    ap.add_argument("--preview", type=Path, help="PNG grid of 8 examples")
    args = ap.parse_args()
    total = len(read_image_list(args.list))
    new_list = write_occluded_copy(args.list, args.out, args.seed, OccluderConfig(kinds=tuple(args.kinds)),
                                   progress=lambda it: tqdm(it, total=total, unit="face"))
    print(f"wrote {new_list}")
    print(summary(args.out))
    if args.preview:
        preview(new_list, args.preview)
        print(f"preview: {args.preview}")


if __name__ == "__main__":
    main()
