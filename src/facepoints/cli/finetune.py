"""``facepoints finetune BASE --data LIST --scheme NAME``: few-shot TUFA on a new landmark scheme."""
from __future__ import annotations

import argparse

HELP = ("few-shot: fine-tune a TUFA model to a new landmark scheme from a few annotated faces (any point "
        "count; resumable)")


def _pair(text: str) -> list[int]:
    """``"3:7"`` -> [3, 7]."""
    try:
        i, j = text.split(":")
        return [int(i), int(j)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"flip pair {text!r} must be I:J (two point indices)") from None


def _group(text: str) -> list[int]:
    """``"36,39"`` -> [36, 39]."""
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"point group {text!r} must be comma-separated indices") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", help="TUFA training checkpoint (runs/<name>/best.pt) or registered model name")
    p.add_argument("--data", required=True, help="image list of the annotated faces (.pts beside each image)")
    p.add_argument("--scheme", required=True, help="name of the new scheme / alignment set (letters, digits, _)")
    p.add_argument("--like", help="the points follow this known scheme (e.g. ibug68): use its flip pairs and "
                                  "inter-ocular points")
    p.add_argument("--flip-pairs", nargs="*", type=_pair, metavar="I:J",
                   help="mirror-image point pairs of a new scheme (none listed: all points on the midline); "
                        "without this option flipping is unknown and flip augmentation is off")
    p.add_argument("--interocular", nargs=2, type=_group, metavar="GROUP",
                   help="the two point groups (e.g. 0 1, or 36,39 42,45) whose distance normalises the NME; "
                        "default: inferred (left-of-centre against right-of-centre points)")
    p.add_argument("--shots", type=int, help="use N faces drawn at random from the list (default: all)")
    p.add_argument("--draw-seed", type=int, default=0, help="seed of the --shots draw")
    p.add_argument("--val", help="validation image list (same points); prints its NME, picks best.pt")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--epoch-samples", type=int, default=200,
                   help="an epoch is ceil(max(N, this) / batch size) steps (few faces are repeated)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--keep-fraction", type=float,
                   help="anchor masking: share of points kept (default: the base's)")
    p.add_argument("--from-scratch", action="store_true", help="same architecture without the pretrained weights")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs", help="output folder (run folder: <out>/<name>)")
    p.add_argument("--name", help="run folder name (default: <scheme>_finetune[_<N>shot_d<seed>])")
    p.add_argument("--register", action="store_true", help="register the result as a model for this process "
                                                           "and print how to use it")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines only)")


def run(args: argparse.Namespace) -> int:
    from ..registry.checkpoint import load_checkpoint
    from ..registry.trained import register_checkpoint
    from ..training.finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig(
        base=args.base, data=args.data, scheme=args.scheme, like=args.like, flip_pairs=args.flip_pairs,
        interocular=args.interocular, limit=args.shots, draw_seed=args.draw_seed, val_list=args.val,
        epochs=args.epochs, epoch_samples=args.epoch_samples, batch_size=args.batch_size, lr=args.lr,
        keep_fraction=args.keep_fraction, from_scratch=args.from_scratch, threads=args.threads, seed=args.seed,
        output_dir=args.out, name=args.name)
    best = finetune(cfg, progress=not args.no_progress)
    state = load_checkpoint(best)
    faces = len(state["finetune"]["faces"])
    print(f"done: {state['finetune']['points']} points from {faces} face(s); checkpoint {best}")
    if args.val:
        print(f"validation NME {100 * state['best']:.3f} % ({args.val})")
    if args.register:
        name = register_checkpoint(best, cfg.run_dir / "model", name=cfg.run_name)
        print(f"registered model {name!r} (this process). To use it elsewhere:\n"
              f"  facepoints evaluate --checkpoint {best} ...\n"
              f"  python: from facepoints.registry import load_trained\n"
              f"          Landmarker(load_trained({str(best)!r}))")
    return 0
