"""What few-shot fine-tuning starts from: the pretrained TUFA, the N annotated faces, their
scheme (``training.finetune`` runs it)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..datasets.augment import AugmentConfig
from ..datasets.image_list import read_image_list
from ..datasets.records import FaceRecord
from ..models import TUFA
from ..registry import create_model, get_card
from ..registry.checkpoint import CheckpointError, architecture_of, checkpoint_network, training_checkpoint
from ..schemes import LandmarkScheme, get_scheme, list_schemes
from ..schemes.custom import custom_scheme


@dataclass
class BaseTUFA:
    """A pretrained TUFA and how it was trained: crop margin, augmentation (the defaults for a
    registry model), and its checkpoint file (``None`` for a registry model)."""

    model: TUFA
    crop_margin: float
    augment: AugmentConfig
    checkpoint: str | None


def load_tufa_base(ref: str | Path) -> BaseTUFA:
    """A TUFA from a training checkpoint file, else from the registry by name."""
    path = Path(ref)
    if path.is_file():
        state = training_checkpoint(path)
        cfg = state["config"]
        _check_tufa(architecture_of(cfg), str(path))
        _, model = checkpoint_network(state, path)
        try:
            augment = AugmentConfig(**cfg["augment"]) if "augment" in cfg else AugmentConfig()
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: its augment config is not valid ({exc})") from None
        return BaseTUFA(model, float(cfg["crop_margin"]), augment, str(path.resolve()))
    try:
        card = get_card(str(ref))
    except KeyError:
        raise FileNotFoundError(f"{ref}: neither a checkpoint file nor a registered model") from None
    _check_tufa(card.architecture, card.name)
    return BaseTUFA(create_model(card.name), float(card.crop.margin), AugmentConfig(), None)


def _check_tufa(architecture: str, what: str) -> None:
    if architecture != "tufa":
        raise ValueError(f"{what}: few-shot fine-tuning needs a TUFA model, not {architecture}")


def read_faces(list_path: str | Path, scheme: str) -> list[FaceRecord]:
    """The annotated faces of an image list (``.pts`` beside each image); one point count, >= 2."""
    records = read_image_list(list_path, scheme)
    if not records:
        raise ValueError(f"{list_path}: no faces listed")
    counts = sorted({len(r.landmarks) for r in records})
    if len(counts) > 1 or counts[0] < 2:
        raise ValueError(f"{list_path}: every face needs the same point count (at least 2), found {counts}")
    return records


def draw_faces(records: Sequence[FaceRecord], limit: int | None, draw_seed: int = 0) -> list[FaceRecord]:
    """All records (``limit`` None or >= their count), else ``limit`` drawn without replacement
    with ``draw_seed``, in list order; draws with one seed are nested (the 1 face is among the 10)."""
    if limit is None or limit >= len(records):
        return list(records)
    if limit < 1:
        raise ValueError(f"limit (shots) must be at least 1, not {limit}")
    picked = np.random.default_rng(draw_seed).permutation(len(records))[:limit]
    return [records[i] for i in sorted(picked)]


def resolve_scheme(name: str, mean: np.ndarray, like: str | None,
                   flip_pairs: Sequence[Sequence[int]] | None,
                   interocular: Sequence[Sequence[int]] | None) -> tuple[LandmarkScheme, bool]:
    """(scheme the new points are read and scored in, whether flipping is allowed): ``like``'s
    metadata when the points are a known scheme's, else a custom scheme ``name`` (``schemes.custom``)."""
    if like is not None:
        if flip_pairs is not None or interocular is not None:
            raise ValueError(f"flip pairs and inter-ocular points come from {like}; do not pass them with like")
        scheme = get_scheme(like)
        if scheme.num_points != len(mean):
            raise ValueError(f"the faces have {len(mean)} points, scheme {like} {scheme.num_points}")
        return scheme, True
    if name in list_schemes():
        raise ValueError(f"{name!r} is a shipped scheme: pass like={name!r} to use its metadata, or another name")
    if not np.isfinite(mean).all():
        missing = np.flatnonzero(~np.isfinite(mean).all(axis=1)).tolist()
        raise ValueError(f"points {missing} are unlabelled in every face")
    return custom_scheme(name, mean, flip_pairs, interocular), flip_pairs is not None


def epoch_steps(faces: int, epoch_samples: int, batch_size: int) -> int:
    """Optimiser steps per epoch: ceil(max(faces, epoch_samples) / batch_size), at least 1: a fixed
    budget for few faces (N=1 repeats its face), at least one pass over many."""
    return max(1, math.ceil(max(faces, epoch_samples) / batch_size))
