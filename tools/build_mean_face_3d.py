"""Build ``training/data/mean_face_3d_ibug68.json``: SPIGA's 3D mean face in iBUG 68 order.

Usage:
  python tools/build_mean_face_3d.py ../shared/data/mean_face_3d/mean_face_3D_68.txt

The source lists ``id|x|y|z`` rows in SPIGA's shared landmark-id space; ``IBUG68_IDS`` (from
SPIGA's ``300wpublic/db_info.json``, ``ldm_ids``) gives the id of each iBUG point 0..67.
Axes: x to the image's right for a frontal face, y up, z towards the camera (nose tip at the
origin); unit scale. SPIGA is BSD-3-Clause (Copyright (c) 2022, aprados); the attribution and
licence travel inside the JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

IBUG68_IDS = [101, 102, 103, 104, 105, 106, 107, 108, 24, 110, 111, 112, 113, 114, 115, 116, 117, 1, 119, 2,
              121, 3, 4, 124, 5, 126, 6, 128, 129, 130, 17, 16, 133, 134, 135, 18, 7, 138, 139, 8, 141, 142,
              11, 144, 145, 12, 147, 148, 20, 150, 151, 22, 153, 154, 21, 156, 157, 23, 159, 160, 161, 162,
              163, 164, 165, 166, 167, 168]
OUT = Path(__file__).resolve().parents[1] / "src/facepoints/training/data/mean_face_3d_ibug68.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="SPIGA mean_face_3D_68.txt")
    args = ap.parse_args()
    rows = {}
    for line in args.source.read_text().splitlines():
        if line.strip():
            pid, x, y, z = line.split("|")
            rows[int(pid)] = [round(float(v), 6) for v in (x, y, z)]
    licence = (args.source.parent / "LICENSE").read_text() if (args.source.parent / "LICENSE").is_file() else ""
    data = {"scheme": "ibug68",
            "axes": "x: image right (frontal face), y: up, z: towards the camera; nose tip (30) at the origin",
            "source": "SPIGA (github.com/andresprados/SPIGA) mean_face_3D_68.txt, reordered to iBUG 68 order",
            "licence": licence,
            "points": [rows[i] for i in IBUG68_IDS]}
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
