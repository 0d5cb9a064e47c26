"""``facepoints pseudo-label LIST... --out DIR``: a teacher model's landmarks for every face of image
lists (cropped from the tight box of each list's own points), written as new lists in the data's
own format for distillation (``training.pseudo_labels``); add ``DIR/<tag>.txt`` to a config's
``train_lists``."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_checkpoint_argument, add_split_arguments, with_checkpoint

HELP = "label image lists with a teacher model (flip-averaged) for distillation; writes lists a config trains on"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("lists", nargs="+", type=Path, help="image lists (a .pts beside each image gives its box)")
    p.add_argument("--out", type=Path, required=True, help="new folder for the lists, .pts/.sigma files and "
                   "links to the images (never inside the data's folder; nothing is replaced)")
    p.add_argument("--model", default="dslpt_lite0_68", help="teacher: a registry name (default dslpt_lite0_68)")
    add_checkpoint_argument(p)
    p.add_argument("--no-flip", action="store_true", help="no mirror averaging (half the time)")
    p.add_argument("--max-sigma", type=float, help="leave out faces whose mean sigma is above this fraction of the "
                   "inter-ocular distance (teachers with sigma)")
    p.add_argument("--copy", action="store_true", help="copy the images instead of linking to them")
    p.add_argument("--limit", type=int, help="only the first faces of each list")
    add_split_arguments(p, "label only the training part so the list's validation faces stay unseen")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the teacher (default 1)")
    p.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])


def run(args: argparse.Namespace) -> int:
    """The teacher is ``--model``, or ``--checkpoint`` (e.g. a TUFA run's best.pt)."""
    args.teacher = str(args.checkpoint) if args.checkpoint else args.model  # as the manifest names it
    return _label(args)


@with_checkpoint
def _label(args: argparse.Namespace) -> int:
    from ..training.pseudo_labels import pseudo_label

    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    result = pseudo_label(args.lists, args.out, args.model, flip_test=not args.no_flip, max_sigma=args.max_sigma,
                          copy=args.copy, limit=args.limit, split=args.split,
                          val_fraction=args.val_fraction, threads=args.threads, backend=args.backend,
                          teacher_label=args.teacher)
    for item in result.lists:
        print(f"{item.list_path}: {item.written} faces from {item.source}"
              + (f", {item.left_out} left out (sigma)" if item.left_out else "")
              + (f", {len(item.unreadable)} unreadable" if item.unreadable else ""))
    faces = sum(item.written for item in result.lists)
    print(f"teacher {result.teacher}{' (flip-averaged)' if result.flip_test else ''}: {faces} faces in "
          f"{result.seconds:.1f} s; add the lists above to a config's train_lists")
    return 0
