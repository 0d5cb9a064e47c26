"""``facepoints`` command line: one sub-command per module in this package (see ``COMMANDS``)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import (benchmark, cost, detect, evaluate, evaluate_branches, evaluate_occlusion, finetune, models, plane,
               stability, track, train, train_branches)

#: sub-command name -> module with HELP, add_arguments(parser) and run(args)
COMMANDS = {
    "detect": detect, "track": track, "models": models, "plane": plane,
    "train": train, "train-branches": train_branches, "finetune": finetune,
    "evaluate": evaluate, "evaluate-branches": evaluate_branches, "evaluate-occlusion": evaluate_occlusion,
    "stability": stability, "benchmark": benchmark, "cost": cost,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facepoints", description="Robust facial landmark detection.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("facepoints: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"facepoints {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
