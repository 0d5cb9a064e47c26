"""``facepoints evaluate``: NME / FR / AUC table, CED PNG and JSON for a model on a data list."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..metrics import NORMALISATIONS
from .common import add_model_arguments

HELP = "benchmark a model on an image list with .pts annotations (NME, FR, AUC, CED plot)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="image list (one relative image path per line, .pts beside each)")
    add_model_arguments(p)
    p.add_argument("--normalisation", default="interocular", choices=NORMALISATIONS)
    p.add_argument("--threshold", type=float, default=0.08, help="failure threshold for FR and AUC")
    p.add_argument("--boxes", default="gt", choices=["gt", "detector"],
                   help="gt: tight landmark boxes (standard protocol); detector: the default detector")
    p.add_argument("--detector", default="default", help="face detector for --boxes detector")
    p.add_argument("--out", type=Path, default=Path("evaluation"), help="folder for the CED PNG and JSON")
    p.add_argument("--per-face", action="store_true", help="include every face's NME in the JSON")
    p.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..datasets.image_list import read_image_list
    from ..drawing import plot_ced
    from ..evaluation.evaluate import evaluate
    from ..landmarker import Landmarker

    records = read_image_list(args.data)
    lm = Landmarker(args.model, detector=args.detector if args.boxes == "detector" else None,
                    backend=args.backend, threads=args.threads)
    result = evaluate(lm, records, args.normalisation, args.threshold, args.boxes, root=args.data.parent,
                      progress=not args.no_progress)
    print(result.table())
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{lm.card.name}_{args.data.stem}_{args.boxes}"
    png = plot_ced({lm.card.name: result.nme}, args.out / f"{stem}_ced.png", args.threshold,
                   title=f"CED: {lm.card.name} on {args.data.name} ({args.boxes} boxes)",
                   normalisation=args.normalisation)
    data = result.to_json(per_face=args.per_face)
    data["data"] = str(args.data)
    data["command"] = (f"facepoints evaluate {args.data} --model {args.model} --normalisation "
                       f"{args.normalisation} --threshold {args.threshold:g} --boxes {args.boxes}")
    (args.out / f"{stem}.json").write_text(json.dumps(data, indent=1))
    print(f"wrote {png} and {args.out / (stem + '.json')}")
    return 0
