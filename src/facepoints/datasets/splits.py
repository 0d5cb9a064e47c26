"""Deterministic train/validation splits carved from a training list."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .records import FaceRecord


def _bucket(key: str) -> float:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_train_val(records: Sequence[FaceRecord], val_fraction: float) -> tuple[list[FaceRecord], list[FaceRecord]]:
    """Split by a hash of each image's file name, so the split never depends on list order."""
    train, val = [], []
    for rec in records:
        (val if _bucket(rec.image_path.name) < val_fraction else train).append(rec)
    return train, val


def split_records(records: Sequence[FaceRecord], split: str, val_fraction: float) -> list[FaceRecord]:
    """``records`` (``split="all"``) or their training / validation part, split exactly as
    ``facepoints train`` does."""
    if split == "all":
        return list(records)
    if split not in ("train", "val"):
        raise ValueError(f"split must be all, train or val, not {split!r}")
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"the validation fraction must be from 0 to 1, got {val_fraction:g}")
    return split_train_val(records, val_fraction)[split == "val"]
