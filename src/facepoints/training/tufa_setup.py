"""TUFA training setup: sources and their alignment sets, config checks, the model to train.

Each entry of ``train_lists`` is a source. Source i's semantic alignment embeddings (thesis
ch. 6.2.2) are registered under its list's folder name, lower-cased (``300W/train.txt`` ->
``300w``, ``ytf68/train.txt`` -> ``ytf68``), or under ``alignment_sets[i]`` when the config
names the sets (few-shot fine-tuning); the first source's set is the model's default scheme:
``prepare_config`` writes its name into ``model.scheme``, so ``forward`` (validation, the
pipeline) predicts the first source's anchors. Lists in the same folder share a set; with
``alignment: false`` every source uses the default set (the "no alignment embedding" ablation).
v1 reads every list in the config's one ``scheme`` (equal point counts, the scheme's canonical
mean shape for every set).

``withhold`` lists scheme points (0-based) that are never anchors nor targets in training, for
every source, and are left out of validation (zero-shot protocol).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import replace
from pathlib import Path

from ..models import TUFA, TUFAConfig
from ..schemes import get_scheme
from .config import TrainConfig


def source_names(cfg: TrainConfig) -> list[str]:
    """One name per training list: ``cfg.alignment_sets`` when given, else its folder's name,
    lower-cased, other characters as ``_``."""
    if cfg.alignment_sets is not None:
        if len(cfg.alignment_sets) != len(cfg.train_lists):
            raise ValueError(f"alignment_sets names {len(cfg.alignment_sets)} sets for {len(cfg.train_lists)} "
                             "training lists")
        return list(cfg.alignment_sets)
    names = []
    for i, item in enumerate(cfg.train_lists):
        folder = Path(os.path.abspath(Path(cfg.data_root) / item)).parent.name.lower()
        names.append(re.sub(r"[^a-z0-9_]", "_", folder) or f"source{i}")
    return names


def source_schemes(cfg: TrainConfig) -> list[str]:
    """The alignment set each source trains (index = position in ``train_lists``)."""
    names = source_names(cfg)
    return names if cfg.alignment else [names[0]] * len(names)


def kept_points(num_points: int, withhold: list[int]) -> list[int]:
    """Scheme indices trained and validated: all but ``withhold``."""
    hidden = set(withhold)
    return [i for i in range(num_points) if i not in hidden]


def _check_withhold(cfg: TrainConfig) -> None:
    scheme = get_scheme(cfg.scheme)
    bad = [i for i in cfg.withhold if not isinstance(i, int) or not 0 <= i < scheme.num_points]
    if bad:
        raise ValueError(f"withhold: {bad} are not point indices of {cfg.scheme} (0..{scheme.num_points - 1})")
    if len(set(cfg.withhold)) != len(cfg.withhold):
        raise ValueError("withhold lists a point twice")
    normaliser = sorted(set(cfg.withhold) & {i for group in scheme.interocular for i in group})
    if normaliser:
        raise ValueError(f"withhold: points {normaliser} normalise the validation NME (inter-ocular); keep them")
    if not kept_points(scheme.num_points, cfg.withhold):
        raise ValueError("withhold leaves no point to train on")


def prepare_config(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` checked for training; TUFA's ``model.scheme`` becomes the first source's name.
    ``ValueError`` when ``plane_to_crop`` is not ``1 / crop_margin``, the point counts differ, or
    ``withhold`` is bad (or set for an architecture other than TUFA)."""
    if cfg.architecture != "tufa":
        if cfg.withhold:
            raise ValueError(f"withhold (zero-shot points) needs architecture tufa, not {cfg.architecture}")
        return cfg
    model, scheme = cfg.model, get_scheme(cfg.scheme)
    if not math.isclose(model.plane_to_crop, 1.0 / cfg.crop_margin, rel_tol=1e-6):
        raise ValueError(f"model.plane_to_crop {model.plane_to_crop} must be 1 / crop_margin = "
                         f"{1.0 / cfg.crop_margin:.6g}: the plane is the tight landmark box, the crop is "
                         f"crop_margin times larger")
    if model.num_points != scheme.num_points:
        raise ValueError(f"model.num_points {model.num_points}: TUFA needs scheme {cfg.scheme}'s "
                         f"{scheme.num_points} points")
    _check_withhold(cfg)
    default = source_names(cfg)[0]
    if model.scheme not in (default, TUFAConfig.scheme):
        raise ValueError(f"model.scheme {model.scheme!r}: TUFA names the default alignment set after the "
                         f"first training list ({default!r}); leave model.scheme out")
    return replace(cfg, model=replace(model, scheme=default))


def build_tufa(cfg: TrainConfig) -> TUFA:
    """TUFA with the scheme's canonical (plane) mean shape for every source's alignment set."""
    cfg = prepare_config(cfg)
    mean = get_scheme(cfg.scheme).mean_shape
    if mean is None:
        raise ValueError(f"scheme {cfg.scheme} has no mean shape for TUFA's anchors")
    model = TUFA(cfg.model, mean)
    for name in dict.fromkeys(source_schemes(cfg)):
        if name not in model.alignment:
            model.add_scheme(name, mean)
    return model
