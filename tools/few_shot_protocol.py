"""Few-shot protocol (thesis ch. 6.2.4): fine-tune a pretrained TUFA on 1, 10, 50 and all training
faces (5 draws per size up to 50) and train from scratch on the same faces; score on a test list.

Usage (pretrained on ytf68 only, new alignment set for 300W's 68 points):
  python tools/few_shot_protocol.py runs/tufa_lite0_68_ytf/best.pt \
      --train ../shared/data/300W/train.txt --test ../shared/data/300W/test_full.txt \
      --scheme fs300w --like ibug68 --out evaluation/few_shot_300w

Rerun the same command to resume: runs whose results/<run>.json exists are skipped. Writes
results/<run>.json per run and summary.json / summary.md (mean ± std per mode and size) / summary.png.
Parallel processes may share --out if each gets its own --modes or --sizes; afterwards
`--summary-only` (same --out, every mode and size) summarises the finished runs without training.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from facepoints.evaluation.few_shot import MODES, FewShotConfig, finished_results, run_protocol, write_summary
from facepoints.training.finetune import FinetuneConfig


def _size(text: str) -> int | None:
    return None if text == "all" else int(text)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="pretrained TUFA checkpoint or registered model name")
    ap.add_argument("--train", required=True, help="image list the few-shot faces are drawn from")
    ap.add_argument("--test", required=True, help="image list scored (ground-truth boxes)")
    ap.add_argument("--scheme", required=True, help="name of the new alignment set")
    ap.add_argument("--like", help="known scheme of the points (e.g. ibug68)")
    ap.add_argument("--sizes", nargs="+", type=_size, default=[1, 10, 50, None],
                    help="face counts; 'all' = every face")
    ap.add_argument("--draws", type=int, default=5, help="random draws per size (sizes other than all)")
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--epochs", type=int, help="FinetuneConfig.epochs (default: the dataclass's)")
    ap.add_argument("--epoch-samples", type=int, help="FinetuneConfig.epoch_samples")
    ap.add_argument("--batch-size", type=int, help="FinetuneConfig.batch_size")
    ap.add_argument("--lr", type=float, help="FinetuneConfig.lr")
    ap.add_argument("--no-imagenet", action="store_true", help="scratch runs start from random weights")
    ap.add_argument("--threads", type=int, default=1, help="threads per run (default 1: run protocols side by side)")
    ap.add_argument("--out", default="evaluation/few_shot")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--summary-only", action="store_true", help="summarise finished runs; train nothing")
    args = ap.parse_args(argv)
    given = {key: getattr(args, key) for key in ("epochs", "epoch_samples", "batch_size", "lr", "threads")
             if getattr(args, key) is not None}
    template = FinetuneConfig(base=args.base, data=args.train, scheme=args.scheme, like=args.like,
                              imagenet_init=not args.no_imagenet, **given)
    cfg = FewShotConfig(template, args.test, args.out, args.sizes, args.draws, tuple(args.modes))
    try:
        if args.summary_only:
            write_summary(cfg, finished_results(cfg))
        else:
            run_protocol(cfg, progress=args.progress)
    except (OSError, ValueError) as err:
        print(f"few_shot_protocol: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
