"""Write src/facepoints/schemes/data/ibug68.json (mean shape from a training list).

Usage: python tools/build_scheme_ibug68.py ../shared/data/300W/train.txt
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facepoints.datasets.formats.pts import read_pts
from facepoints.schemes.mean_shape import mean_shape_from_landmarks
from facepoints.schemes.scheme import LandmarkScheme


def ibug68_names() -> list[str]:
    names = [f"jaw_{i}" for i in range(17)]
    names += [f"right_brow_{i}" for i in range(5)] + [f"left_brow_{i}" for i in range(5)]
    names += [f"nose_bridge_{i}" for i in range(4)] + [f"nose_base_{i}" for i in range(5)]
    names += [f"right_eye_{i}" for i in range(6)] + [f"left_eye_{i}" for i in range(6)]
    names += [f"outer_lip_{i}" for i in range(12)] + [f"inner_lip_{i}" for i in range(8)]
    return names


def ibug68_flip() -> list[int]:
    pairs = [(i, 16 - i) for i in range(8)] + [(17 + i, 26 - i) for i in range(5)]
    pairs += [(31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67)]
    perm = list(range(68))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


def main(train_list: str) -> None:
    root = Path(train_list).parent
    shapes = [read_pts(root / Path(line.strip()).with_suffix(".pts"))
              for line in Path(train_list).read_text().split() if line.strip()]
    scheme = LandmarkScheme(
        name="ibug68",
        num_points=68,
        names=tuple(ibug68_names()),
        groups={"jaw": tuple(range(17)), "right_brow": tuple(range(17, 22)),
                "left_brow": tuple(range(22, 27)), "nose": tuple(range(27, 36)),
                "right_eye": tuple(range(36, 42)), "left_eye": tuple(range(42, 48)),
                "outer_lip": tuple(range(48, 60)), "inner_lip": tuple(range(60, 68))},
        flip_permutation=tuple(ibug68_flip()),
        interocular=((36,), (45,)),
        interpupil=(tuple(range(36, 42)), tuple(range(42, 48))),
        mean_shape=mean_shape_from_landmarks(np.stack(shapes)),
        description="iBUG 68-point markup (300W, Menpo frontal, 300VW, COFW68). "
                    "Right/left are the subject's. Mean shape from 300W train.txt.",
    )
    out = Path(__file__).resolve().parents[1] / "src/facepoints/schemes/data/ibug68.json"
    scheme.save(out)
    print(f"wrote {out} from {len(shapes)} faces")


if __name__ == "__main__":
    main(sys.argv[1])
