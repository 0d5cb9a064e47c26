"""``facepoints evaluate``: NME / FR / AUC table, CED PNG and JSON for a model on a data list."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..metrics import NORMALISATIONS
from ..pipeline.overwrite import OutputGuard
from .common import (add_checkpoint_argument, add_model_arguments, add_split_arguments, input_guard,
                     model_name)

HELP = "benchmark a model on an image list with .pts annotations (NME, FR, AUC, CED plot)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="image list (one relative image path per line, .pts beside each)")
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.add_argument("--normalisation", default="interocular", choices=NORMALISATIONS)
    p.add_argument("--threshold", type=float, default=0.08, help="failure threshold for FR and AUC")
    p.add_argument("--boxes", default="gt", choices=["gt", "detector"],
                   help="gt: tight landmark boxes (standard protocol); detector: the default detector")
    p.add_argument("--detector", default="default", help="face detector for --boxes detector")
    p.add_argument("--out", type=Path, default=Path("evaluation"), help="folder for the CED PNG and JSON")
    p.add_argument("--per-face", action="store_true", help="include every face's NME in the JSON")
    add_split_arguments(p, "for model selection without the test set")
    p.add_argument("--flip-test", action="store_true", help="average each prediction with its mirror image's")
    p.add_argument("--stages", type=int, nargs="+",
                   help="coarse-to-fine models: evaluate after each of these stage counts (e.g. 1 2 3) "
                        "and print a per-stage table; default: the model's own count")
    p.add_argument("--only-points", nargs="+", metavar="I",
                   help="score only these 0-based scheme points (ranges allowed: 0-16), e.g. the points a "
                        "zero-shot model never saw; still normalised by the full ground truth")
    p.add_argument("--zero-shot", action="store_true",
                   help="with --only-points on a TUFA model: prompt those points at the scheme's mean-shape "
                        "plane positions instead of reading the model's trained anchors")
    p.add_argument("--landmark-set", metavar="NAME",
                   help="TUFA models trained on several sources: predict this alignment set's anchors "
                        "(e.g. ytf68, to score that source with its own annotation habits); default: the "
                        "model's default set")
    p.add_argument("--no-progress", action="store_true")


def parse_indices(tokens: list[str] | None) -> list[int] | None:
    """``["1", "3", "5-7"]`` -> ``[1, 3, 5, 6, 7]``; ``ValueError`` on anything else."""
    if tokens is None:
        return None
    out = []
    for token in tokens:
        for part in token.replace(",", " ").split():
            lo, sep, hi = part.partition("-")
            try:
                out += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
            except ValueError:
                raise ValueError(f"--only-points: {part!r} is not an index or a range like 0-16") from None
    return out


def run(args: argparse.Namespace) -> int:
    from ..datasets.image_list import read_image_list
    from ..datasets.splits import split_records
    from ..evaluation.evaluate import evaluate
    from ..landmarker import Landmarker
    from ..registry import get_card
    from ..schemes import scheme_plane_points

    points = parse_indices(args.only_points)
    if args.zero_shot and points is None:
        raise ValueError("--zero-shot needs --only-points (the scheme points to prompt)")
    if args.zero_shot and args.landmark_set:
        raise ValueError("--zero-shot prompts the scheme's mean shape; it cannot be combined with --landmark-set")
    name = model_name(args, str(args.out / "checkpoints"))
    # the list's points are the model's scheme (a few-shot model's own points, too)
    records = split_records(read_image_list(args.data, scheme=get_card(name).scheme), args.split, args.val_fraction)
    prompts = scheme_plane_points(records[0].scheme, points) if args.zero_shot else None
    if args.landmark_set:
        prompts = Landmarker(name, detector=None).plane_points(args.landmark_set)
        prompts = prompts if points is None else prompts[points]
    rows = []
    guard = input_guard(args, records)
    for stages in args.stages or [None]:
        lm = Landmarker(name, detector=args.detector if args.boxes == "detector" else None,
                        backend=args.backend, threads=args.threads, flip_test=args.flip_test, stages=stages,
                        points=prompts)
        result = evaluate(lm, records, args.normalisation, args.threshold, args.boxes, root=args.data.parent,
                          progress=not args.no_progress, points=points)
        print(result.table() if stages is None else f"stages={stages}\n{result.table()}")
        _write_outputs(args, lm, result, stages, points, guard)
        rows.append((stages, result.overall))
    if len(rows) > 1:
        print("\nper stage (all faces):\n" + "\n".join(f"  {k} stage(s): {s.row()}" for k, s in rows))
    return 0


def _write_outputs(args: argparse.Namespace, lm, result, stages: int | None, points: list[int] | None,
                   guard: OutputGuard) -> None:
    """CED PNG and JSON (with the command that reproduces them) for one evaluation."""
    from ..datasets.image_list import list_tag
    from ..drawing import plot_ced

    args.out.mkdir(parents=True, exist_ok=True)
    split = "" if args.split == "all" else f"_{args.split}"
    staged = "" if stages is None else f"_stages{stages}"
    subset = "" if points is None else f"_{len(points)}pts"
    subset += "_zeroshot" if args.zero_shot else ""
    subset += f"_set-{args.landmark_set}" if args.landmark_set else ""
    stem = (f"{lm.card.name}_{list_tag(args.data)}{split}_{args.boxes}{'_flip' if args.flip_test else ''}"
            f"{staged}{subset}")
    guard.claim(args.out / f"{stem}_ced.png")
    guard.claim(args.out / f"{stem}.json")
    png = plot_ced({lm.card.name: result.nme}, args.out / f"{stem}_ced.png", args.threshold,
                   title=f"CED: {lm.card.name} on {args.data.name} ({args.boxes} boxes)",
                   normalisation=args.normalisation)
    data = result.to_json(per_face=args.per_face)
    data["data"] = str(args.data)
    which = f"--checkpoint {args.checkpoint}" if args.checkpoint else f"--model {args.model}"
    data["command"] = (f"facepoints evaluate {args.data} {which} --normalisation "
                       f"{args.normalisation} --threshold {args.threshold:g} --boxes {args.boxes}"
                       + ("" if args.split == "all" else f" --split {args.split} --val-fraction {args.val_fraction:g}")
                       + (" --flip-test" if args.flip_test else "")
                       + ("" if stages is None else f" --stages {stages}")
                       + ("" if args.only_points is None else " --only-points " + " ".join(args.only_points))
                       + (" --zero-shot" if args.zero_shot else "")
                       + (f" --landmark-set {args.landmark_set}" if args.landmark_set else ""))
    (args.out / f"{stem}.json").write_text(json.dumps(data, indent=1))
    print(f"wrote {png} and {args.out / (stem + '.json')}")
