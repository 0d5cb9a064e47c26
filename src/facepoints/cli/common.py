"""Arguments and helpers shared by the sub-commands."""
from __future__ import annotations

import argparse
import functools
import json
import re
import tempfile
from collections.abc import Callable, Iterable

from ..pipeline.overwrite import OutputGuard
from ..registry import DEFAULT_MODEL


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help="registry name (see `facepoints models`)")
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"],
                        help="runtime for the landmark network (default: ONNX Runtime when available)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the landmark network")


_NUMBER_LIST = re.compile(r"\[\s+([-+0-9.eE,\s]+?)\s+\]")


def to_json(data: object) -> str:
    """Indented JSON with innermost number lists on one line (``[x, y]`` per landmark)."""
    text = json.dumps(data, indent=1, allow_nan=False)
    return _NUMBER_LIST.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (native libraries' messages span several)."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return " ".join(str(message).split())


def add_face_search_arguments(parser: argparse.ArgumentParser) -> None:
    """``--min-face-size`` and ``--search-rotated``: how the face detector searches (``Landmarker``'s
    ``min_face_size`` and ``search_rotated``)."""
    parser.add_argument("--min-face-size", type=float, default=None,
                        help="smallest face side (pixels) to search for: finds small faces in large images, slower")
    parser.add_argument("--search-rotated", action="store_true",
                        help="also search copies turned by 90/180/270 degrees (upside-down faces; about 4x the "
                             "detector time)")


def add_split_arguments(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--split all|train|val`` and ``--val-fraction``: only one part of a training list, split
    exactly as ``facepoints train`` does; ``purpose`` ends the help (why one would)."""
    parser.add_argument("--split", default="all", choices=["all", "train", "val"],
                        help="use only the training or validation part of a training list, split exactly as "
                             f"`facepoints train` does ({purpose})")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="validation share used with --split")


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="use a training checkpoint (e.g. runs/<name>/best.pt from "
                                             "`facepoints train-branches`) instead of --model")


def input_guard(args: argparse.Namespace, records: Iterable = ()) -> OutputGuard:
    """An :class:`OutputGuard` holding the command's input files: its data list and
    ``--checkpoint`` (when it has them) and the images of ``records``."""
    given = [getattr(args, name, None) for name in ("data", "checkpoint")]
    return OutputGuard([p for p in given if p] + [r.image_path for r in records])


def with_checkpoint(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command's ``run`` with ``--checkpoint`` (when given) registered as a model for the whole
    command: ``args.model`` becomes its name, its weights live in a temporary folder until the end."""
    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        if not getattr(args, "checkpoint", None):
            return run(args)
        with tempfile.TemporaryDirectory(prefix="facepoints-") as tmp:
            args.model = model_name(args, tmp)
            return run(args)
    return wrapper


def model_name(args: argparse.Namespace, work_dir: str) -> str:
    """``args.model``, or ``args.checkpoint`` (a checkpoint file or run folder) registered as a model
    (weights written to ``work_dir``)."""
    if getattr(args, "checkpoint", None):
        from ..registry.trained import load_trained

        return load_trained(args.checkpoint, work_dir)
    return args.model
