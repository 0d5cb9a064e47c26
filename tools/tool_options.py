"""Argument types shared by the scripts in tools/ (run as ``python tools/NAME.py``, so this
folder is on the import path)."""
from __future__ import annotations

import argparse
import ast


def key_value_option(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` -> (key, value), the value read as a Python literal when it is one
    (``min_face_size=32`` -> 32), else kept as text; argparse's error when ``=`` is missing."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value
