"""``facepoints cost``: parameters, FLOPs and CPU ms/face of a model's architecture for several
landmark counts and coarse-to-fine stage counts (thesis tables 4.10 and 5.19)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_checkpoint_argument, with_checkpoint

HELP = "parameters, FLOPs and CPU ms/face per landmark count and stage count (untrained copies)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..registry import DEFAULT_MODEL

    p.add_argument("--model", default=DEFAULT_MODEL, help="registered model whose architecture is measured "
                   "(default: %(default)s, the default model)")
    add_checkpoint_argument(p)
    p.add_argument("--backbone", help="swap the backbone (e.g. resnet34, resnet50, hrnet_w18c, hrnet_w18c_lite)")
    p.add_argument("--points", type=int, nargs="+", help="landmark counts (default 98 68 29 19)")
    p.add_argument("--stages", type=int, nargs="+", default=[1, 2, 3], help="stage counts (default 1 2 3)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=20, help="timed runs per row (median reported)")
    p.add_argument("--onnx", action="store_true",
                   help="also time each configuration exported to ONNX Runtime (how shipped models run); "
                        "needs the onnx package")
    p.add_argument("--json", type=Path, help="also write the rows here")


@with_checkpoint
def run(args: argparse.Namespace) -> int:
    from ..evaluation.cost_report import THESIS_POINT_COUNTS, cost_rows, format_cost_table
    from ..registry import get_card

    card = get_card(args.model)
    config = dict(card.config)
    if args.backbone:
        config["backbone"] = args.backbone
    rows = cost_rows(card.architecture, config, args.points or THESIS_POINT_COUNTS, args.stages,
                     args.threads, args.repeats, onnx=args.onnx)
    command = "facepoints cost " + " ".join(
        [f"--model {args.model}"] + ([f"--backbone {args.backbone}"] if args.backbone else [])
        + [f"--threads {args.threads}"] + (["--onnx"] if args.onnx else []))
    print(f"{args.model}: {card.architecture} ({config['backbone']}, {config['input_size']} px), batch 1, "
          f"{args.threads} thread(s); FLOPs = 2 per multiply-add")
    skipped = [s for s in args.stages if s > config.get("stages", 1)]
    if skipped:
        print(f"{args.model} has {config.get('stages', 1)} stage(s): stage count(s) "
              f"{', '.join(map(str, skipped))} skipped")
    print(format_cost_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "config": config, "command": command}, indent=1))
    return 0
