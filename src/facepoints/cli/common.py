"""Arguments and helpers shared by the sub-commands."""
from __future__ import annotations

import argparse

from ..registry import DEFAULT_MODEL


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help="registry name (see `facepoints models`)")
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"],
                        help="runtime for the landmark network (default: ONNX Runtime when available)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the landmark network")
