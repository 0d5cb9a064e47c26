"""``facepoints evaluate-occlusion``: a model on a test list and on a synthetic occluded copy of
it (face masks and pasted patches): NME on both, and for models with per-point sigma how sigma
tracks occlusion and error."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_checkpoint_argument, add_model_arguments, add_split_arguments, input_guard, model_name

HELP = "NME and sigma on a test list and its synthetic occluded copy (face masks, pasted patches)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="iBUG-68 image list (one relative image path per line, .pts beside each)")
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.add_argument("--seed", type=int, default=0, help="occluder seed (the copy is reproducible)")
    p.add_argument("--work-dir", type=Path, default=Path("evaluation/occluded"),
                   help="where the occluded copy is written (reused on later runs)")
    p.add_argument("--out", type=Path, default=Path("evaluation"), help="folder for the JSON")
    add_split_arguments(p, "for model selection without the test set")
    p.add_argument("--flip-test", action="store_true",
                   help="average each prediction with its mirror image's; sigma becomes the spread of the "
                        "two-view mixture, so points the views disagree on count as less certain")
    p.add_argument("--no-progress", action="store_true")


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _row(label: str, entry: dict) -> str:
    nme = entry["nme"]
    line = f"  {label:12s} NME {100 * nme['nme']:6.3f} %  FR {100 * nme['fr']:6.2f} %  AUC {nme['auc']:.3f}"
    u = entry["uncertainty"]
    if u:
        line += (f" | sigma occluded/visible {_fmt(u['sigma_ratio'])} (SQDU {_fmt(u.get('sqdu_ratio'))})  "
                 f"Spearman(error, sigma) {_fmt(u['spearman'])} (visible only {_fmt(u['spearman_visible'])})")
    return line


def run(args: argparse.Namespace) -> int:
    from ..datasets.image_list import list_tag
    from ..evaluation.occlusion_study import occlusion_study
    from ..landmarker import Landmarker

    name = model_name(args, str(args.out / "checkpoints"))
    lm = Landmarker(name, detector=None, backend=args.backend, threads=args.threads, flip_test=args.flip_test)
    part = ("" if args.split == "all" else f"_{args.split}") + ("_flip" if args.flip_test else "")
    stem = f"{lm.card.name}_{list_tag(args.data)}{part}_occlusion_seed{args.seed}"
    guard = input_guard(args)
    for suffix in ("_sigma.png", ".json"):
        guard.claim(args.out / f"{stem}{suffix}")
    report = occlusion_study(lm, args.data, args.work_dir, args.seed, progress=not args.no_progress,
                             split=args.split, val_fraction=args.val_fraction, plot=args.out / f"{stem}_sigma.png")
    part = "" if args.split == "all" else f" ({args.split} split)"
    print(f"{report['model']} on {args.data}{part} (ground-truth boxes); occluded copy seed {args.seed}: "
          f"{100 * report['occluded_point_fraction']:.1f} % of points occluded")
    rows = [(cond, report[cond]) for cond in ("clean", "occluded")]
    rows += [(f"  {kind}", entry) for kind, entry in report["occluded"]["by_kind"].items()]
    for label, entry in rows:
        print(_row(label, entry))
    if "sigma_same_point_ratio" in report["occluded"]:
        print(f"  same point, occluded copy / clean: sigma x{report['occluded']['sigma_same_point_ratio']:.2f}")
    which = f"--checkpoint {args.checkpoint}" if args.checkpoint else f"--model {args.model}"
    split = "" if args.split == "all" else f" --split {args.split} --val-fraction {args.val_fraction:g}"
    flip = " --flip-test" if args.flip_test else ""
    report["command"] = f"facepoints evaluate-occlusion {args.data} {which} --seed {args.seed}{split}{flip}"
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{stem}.json"
    path.write_text(json.dumps(report, indent=1))
    print(f"wrote {path}" + (f" and {report['plot']}" if "plot" in report else ""))
    return 0
