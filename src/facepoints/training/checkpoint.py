"""Atomic checkpoint files (a kill mid-write never corrupts the last good one)."""
from __future__ import annotations

import os
from pathlib import Path

import torch


def save_atomic(obj: dict, path: str | Path) -> None:
    """``torch.save`` to a temporary file, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    return torch.load(Path(path), map_location="cpu", weights_only=False)
