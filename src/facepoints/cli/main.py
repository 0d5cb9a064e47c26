"""``facepoints`` command line: detect, evaluate, train, models, benchmark, cost, tracking."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import benchmark, cost, detect, evaluate, evaluate_branches, evaluate_occlusion, models, train, train_branches

COMMANDS = {"detect": detect, "evaluate": evaluate, "train": train, "models": models, "benchmark": benchmark}
COMMANDS.update({"train-branches": train_branches, "evaluate-branches": evaluate_branches, "cost": cost})
COMMANDS["evaluate-occlusion"] = evaluate_occlusion
from . import stability, track  # noqa: E402 - video commands
COMMANDS.update({"track": track, "stability": stability})





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
