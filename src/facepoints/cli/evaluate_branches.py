"""``facepoints evaluate-branches``: head-pose MAE / FR@10 and face-confidence AP of a model with
ATPN branches, with tables, JSON, a pose CED PNG and a precision-recall PNG."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .common import add_checkpoint_argument, add_model_arguments, input_guard, model_name, to_json

HELP = ("benchmark a model's pose branch (MAE, FR@10 deg vs solvePnP pseudo-labels) and face-confidence "
        "branch (AP on face / background crops)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="image list (one relative image path per line, .pts beside each)")
    add_model_arguments(p)
    add_checkpoint_argument(p)
    p.add_argument("--negatives", type=int, default=10, help="background crops per face for the AP")
    p.add_argument("--seed", type=int, default=1, help="seed of the face-box jitter and background boxes")
    p.add_argument("--out", type=Path, default=Path("evaluation"), help="folder for the PNGs and JSON")
    p.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..datasets.image_list import list_tag, read_image_list
    from ..drawing import plot_pose_ced, plot_precision_recall
    from ..evaluation.branches import pose_report, pose_table, predict_poses, score_tracking_crops
    from ..landmarker import Landmarker
    from ..training.pose_labels import FOCAL_PER_SIDE, crop_pose_labels, describe_labels, fit_poses

    records = read_image_list(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        lm = Landmarker(model_name(args, tmp), detector=None, backend=args.backend, threads=args.threads)
    stem = f"{lm.card.name}_{list_tag(args.data)}_branches"
    guard = input_guard(args, records)
    for suffix in ("_pose_ced.png", "_pr.png", ".json"):  # refused before the evaluation runs
        guard.claim(args.out / f"{stem}{suffix}")
    progress = not args.no_progress
    labels = crop_pose_labels(records, lm.spec)
    pred = predict_poses(lm, records, progress)
    report = pose_report({"pose branch": pred.pose,
                          "solvePnP on predicted landmarks": fit_poses(pred.crop_landmarks, lm.spec.size)}, labels)
    print(f"head pose on {args.data} ({len(records)} faces; reference: solvePnP pseudo-labels "
          f"from the annotated landmarks, focal {FOCAL_PER_SIDE:g} x crop side), degrees:")
    print(pose_table(report))
    tracking = score_tracking_crops(lm, records, args.negatives, seed=args.seed, progress=progress).summary()
    print(f"face confidence: AP {100 * tracking['ap']:.2f} % on {tracking['positives']} face and "
          f"{tracking['negatives']} background crops")
    for t in ("0.5", "0.7"):
        print(f"  at p >= {t}: recall {100 * tracking['recall_at_' + t]:.2f} %, "
              f"false positives {100 * tracking['false_positive_rate_at_' + t]:.2f} %")

    args.out.mkdir(parents=True, exist_ok=True)
    ced = plot_pose_ced({k: v["per_face"] for k, v in report.items()}, args.out / f"{stem}_pose_ced.png",
                        title=f"Head pose on {args.data.name} (vs pseudo-labels)")
    curve = tracking.pop("curve")
    pr = plot_precision_recall({lm.card.name: (curve["precision"], curve["recall"], tracking["ap"])},
                               args.out / f"{stem}_pr.png",
                               title=f"Face confidence on {args.data.name} crops")
    source = f"--checkpoint {args.checkpoint}" if args.checkpoint else f"--model {args.model}"
    command = f"facepoints evaluate-branches {args.data} {source} --negatives {args.negatives} --seed {args.seed}"
    pose = {name: _rounded({k: v for k, v in r.items() if k != "per_face"}) for name, r in report.items()}
    crops = f"per face: 1 jittered face box, {args.negatives} background boxes with IoU < 0.3"
    metrics = {"pose": {"data": str(args.data), "units": "degrees (fr_10, auc_10: fractions)",
                        "reference": describe_labels(), "branch": pose["pose branch"],
                        "pnp_on_predicted_landmarks": pose["solvePnP on predicted landmarks"], "command": command},
               "tracking": {"data": str(args.data), "crops": crops, **_rounded(tracking), "command": command}}
    data = {"model": lm.card.name, "data": str(args.data), "command": command, "metrics": metrics}
    (args.out / f"{stem}.json").write_text(to_json(data))
    print(f"wrote {ced}, {pr} and {args.out / (stem + '.json')}")
    return 0


def _rounded(values: dict) -> dict:
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in values.items()}
