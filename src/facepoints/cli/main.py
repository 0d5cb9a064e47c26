"""``facepoints`` command line: one sub-command per module in this package (see ``COMMANDS``)."""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

import cv2

from . import (annotate, benchmark, cost, detect, evaluate, evaluate_branches, evaluate_detection, evaluate_occlusion,
               export, finetune, models, package, plane, pseudo_label, serve, stability, track, train, train_branches)
from ..torch_required import explain_missing
from .common import one_line
from .quiet import quiet_opencv_log

#: sub-command name -> module with HELP, add_arguments(parser) and run(args)
COMMANDS = {
    "detect": detect, "track": track, "models": models, "plane": plane,
    "train": train, "train-branches": train_branches, "finetune": finetune, "package": package,
    "evaluate": evaluate, "evaluate-branches": evaluate_branches, "evaluate-occlusion": evaluate_occlusion,
    "evaluate-detection": evaluate_detection,
    "stability": stability, "benchmark": benchmark, "cost": cost, "annotate": annotate,
    "export": export, "serve": serve, "pseudo-label": pseudo_label,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facepoints", description="Robust facial landmark detection.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def subcommand_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    """The parser of sub-command ``name`` (``None`` for an unknown name)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(name)
    return None


_NEGATIVE_NUMBER = re.compile(r"-\.?\d")


def join_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--box -10,-10,100,100`` -> ``--box=-10,-10,100,100`` for options taking one value, so
    argparse does not read a value starting with a minus sign and a digit as an option."""
    single = {s for a in parser._actions if a.nargs is None for s in a.option_strings if s.startswith("--")}
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--":
            return out + argv[i:]
        if argv[i] in single and i + 1 < len(argv) and _NEGATIVE_NUMBER.match(argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parsed arguments; a bad option exits 2 with the sub-command's own usage and one error line."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    command = subcommand_parser(parser, argv[0]) if argv else None
    if command is not None:
        argv = argv[:1] + join_negative_values(command, argv[1:])
    args, extra = parser.parse_known_args(argv)
    if extra:
        (subcommand_parser(parser, args.command) or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input)."""
    args = parse_arguments(argv)
    quiet_opencv_log()
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("facepoints: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, KeyError, RuntimeError, ImportError, MemoryError, cv2.error) as exc:
        exc = explain_missing(exc, f"facepoints {args.command}")
        print(f"facepoints {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
