"""Write src/facepoints/schemes/data/{wflw98,cofw29,aflw19,celeba5}.json.

Usage: python tools/build_schemes_other.py

No training data for these layouts is on this machine, so ``mean_shape`` is null.
Sources of the facts (0-based indices):

- WFLW 98: the WFLW markup (wywu.github.io/projects/LAB/WFLW.html); flip pairs as in
  mmpose's ``configs/_base_/datasets/wflw.py`` metainfo.
- COFW 29: the LFPW-derived layout of Burgos-Artizzu et al. (ICCV'13); flip pairs as in
  mmpose's ``cofw.py`` metainfo; pupils 16/17 = RCPR's ``shapeGt`` distPup (1-based
  17/18); outer eye corners 8/9 = HRNet's ``compute_nme`` for 29 points.
- AFLW 19: AFLW's 21 points without the two ears; flip pairs as in mmpose's ``aflw.py``.
- CelebA 5: the column order of ``list_landmarks_celeba.txt``.
"""
from __future__ import annotations

from pathlib import Path

from facepoints.schemes.scheme import LandmarkScheme

OUT = Path(__file__).resolve().parents[1] / "src/facepoints/schemes/data"


def permutation(n: int, pairs: list[tuple[int, int]]) -> tuple[int, ...]:
    """The involution of 0..n-1 that swaps each pair and fixes every other index."""
    perm = list(range(n))
    for a, b in pairs:
        if perm[a] != a or perm[b] != b:
            raise ValueError(f"index in two flip pairs: {a}, {b}")
        perm[a], perm[b] = b, a
    return tuple(perm)


def span(a: int, b: int) -> tuple[int, ...]:
    """Indices a..b inclusive."""
    return tuple(range(a, b + 1))


def wflw98() -> LandmarkScheme:
    names = [f"contour_{i}" for i in range(33)]
    names += [f"right_brow_{i}" for i in range(9)] + [f"left_brow_{i}" for i in range(9)]
    names += [f"nose_bridge_{i}" for i in range(4)] + [f"nose_base_{i}" for i in range(5)]
    names += [f"right_eye_{i}" for i in range(8)] + [f"left_eye_{i}" for i in range(8)]
    names += [f"outer_lip_{i}" for i in range(12)] + [f"inner_lip_{i}" for i in range(8)]
    names += ["right_pupil", "left_pupil"]
    pairs = [(i, 32 - i) for i in range(16)]
    pairs += [(33 + i, 46 - i) for i in range(5)] + [(38 + i, 50 - i) for i in range(4)]
    pairs += [(55, 59), (56, 58)]
    pairs += [(60 + i, 72 - i) for i in range(5)] + [(65 + i, 75 - i) for i in range(3)]
    pairs += [(76, 82), (77, 81), (78, 80), (87, 83), (86, 84), (88, 92), (89, 91), (95, 93)]
    pairs += [(96, 97)]
    return LandmarkScheme(
        name="wflw98",
        num_points=98,
        names=tuple(names),
        groups={"contour": span(0, 32), "right_brow": span(33, 41), "left_brow": span(42, 50),
                "nose": span(51, 59), "right_eye": span(60, 67), "left_eye": span(68, 75),
                "outer_lip": span(76, 87), "inner_lip": span(88, 95), "pupils": (96, 97)},
        flip_permutation=permutation(98, pairs),
        interocular=((60,), (72,)),
        interpupil=((96,), (97,)),
        description="WFLW 98-point markup (Wu et al., CVPR'18). Right/left are the subject's "
                    "(right = image left). Inter-ocular = outer eye corners 60 and 72 (the WFLW "
                    "benchmark normaliser); inter-pupil = pupils 96 and 97. No mean shape "
                    "(no WFLW data on the build machine).",
    )


def cofw29() -> LandmarkScheme:
    # Mirror pairs are numbered a/b in file order; the release does not say which
    # side of the face 'a' is, so names do not claim one.
    names = ["brow_a_outer", "brow_b_outer", "brow_a_inner", "brow_b_inner",
             "brow_a_top", "brow_a_bottom", "brow_b_top", "brow_b_bottom",
             "eye_a_outer", "eye_b_outer", "eye_a_inner", "eye_b_inner",
             "eye_a_top", "eye_a_bottom", "eye_b_top", "eye_b_bottom",
             "pupil_a", "pupil_b", "nose_a_wing", "nose_b_wing", "nose_tip", "nose_bottom",
             "mouth_a_corner", "mouth_b_corner", "upper_lip_top", "upper_lip_bottom",
             "lower_lip_top", "lower_lip_bottom", "chin"]
    pairs = [(0, 1), (2, 3), (4, 6), (5, 7), (8, 9), (10, 11), (12, 14), (13, 15),
             (16, 17), (18, 19), (22, 23)]
    return LandmarkScheme(
        name="cofw29",
        num_points=29,
        names=tuple(names),
        groups={"brows": span(0, 7), "eyes": span(8, 15), "pupils": (16, 17),
                "nose": span(18, 21), "mouth": span(22, 27), "chin": (28,)},
        flip_permutation=permutation(29, pairs),
        interocular=((8,), (9,)),
        interpupil=((16,), (17,)),
        description="COFW 29-point markup (Burgos-Artizzu et al., ICCV'13; LFPW-derived). "
                    "Mirror pairs are named a/b in file order. Inter-ocular = outer eye corners "
                    "8 and 9 (HRNet/mmpose COFW NME); inter-pupil = pupils 16 and 17, the "
                    "normaliser of RCPR and most COFW papers, which call it 'inter-ocular': "
                    "use interpupil to compare with them. No mean shape.",
    )


def aflw19() -> LandmarkScheme:
    names = ["brow_a_outer", "brow_a_centre", "brow_a_inner",
             "brow_b_inner", "brow_b_centre", "brow_b_outer",
             "eye_a_outer", "eye_a_centre", "eye_a_inner",
             "eye_b_inner", "eye_b_centre", "eye_b_outer",
             "nose_a_wing", "nose_tip", "nose_b_wing",
             "mouth_a_corner", "mouth_centre", "mouth_b_corner", "chin"]
    pairs = [(0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9), (12, 14), (15, 17)]
    return LandmarkScheme(
        name="aflw19",
        num_points=19,
        names=tuple(names),
        groups={"brows": span(0, 5), "eyes": span(6, 11), "nose": span(12, 14),
                "mouth": span(15, 17), "chin": (18,)},
        flip_permutation=permutation(19, pairs),
        interocular=((6,), (11,)),
        interpupil=((7,), (10,)),
        description="AFLW 19-point markup (AFLW's 21 points without the ears, as used by "
                    "HRNet/mmpose). Mirror pairs are named a/b in file order. Inter-ocular = "
                    "outer eye corners 6 and 11; inter-pupil = eye centres 7 and 10. Published "
                    "AFLW NMEs are normalised by the face box size (sqrt(w*h)), not by these. "
                    "No mean shape.",
    )


def celeba5() -> LandmarkScheme:
    return LandmarkScheme(
        name="celeba5",
        num_points=5,
        names=("lefteye", "righteye", "nose", "leftmouth", "rightmouth"),
        groups={"eyes": (0, 1), "nose": (2,), "mouth": (3, 4)},
        flip_permutation=permutation(5, [(0, 1), (3, 4)]),
        interocular=((0,), (1,)),
        interpupil=((0,), (1,)),
        description="CelebA / MAFL 5 points in list_landmarks_celeba.txt order. Left/right "
                    "follow CelebA's names, which are image left/right (lefteye = the "
                    "subject's right eye). Inter-ocular and inter-pupil are both the distance "
                    "between the two eye points. No mean shape.",
    )


def main() -> None:
    for scheme in (wflw98(), cofw29(), aflw19(), celeba5()):
        path = OUT / f"{scheme.name}.json"
        scheme.save(path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
