"""Training configuration, read from a YAML file."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

from ..datasets.augment import AugmentConfig
from ..models import ATPNConfig
from ..registry.architectures import ARCHITECTURES
from .config_checks import ConfigError
from .yaml_config import RunConfig, build_section, read_config_mapping


@dataclass
class TrainConfig(RunConfig):
    """Everything a training run needs; relative data paths are resolved against ``data_root``."""

    name: str = "atpn_lite0_68"
    data_root: str = "../shared/data"
    train_lists: list[str] = field(default_factory=lambda: ["300W/train.txt"])
    val_fraction: float = 0.1
    list_repeats: list[int] | None = None  # times each list's training faces appear per epoch (default 1 each)
    scheme: str = "ibug68"
    architecture: str = "atpn"  # a registry architecture: atpn, dslpt, tufa
    model: Any = field(default_factory=ATPNConfig)  # that architecture's config
    crop_margin: float = 1.25
    imagenet_init: bool = True
    init_checkpoint: str | None = None  # start from this run's (or registered model's) weights; overrides imagenet_init
    init_backbone: str | None = None  # copy the backbone of this checkpoint or registered model (any architecture)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loss: str = "nme"  # ATPN's landmark loss (nme or l1); SLPT / DSLPT follow model.distribution
    nll_beta: float = 0.0  # DSLPT: beta-NLL weighting (0 = the thesis' plain NLL; see training.patch_losses)
    alignment: bool = True  # TUFA: one alignment-embedding set per training list (False: all share the first's)
    alignment_sets: list[str] | None = None  # TUFA: each list's set name (default: the lists' folder names)
    withhold: list[int] = field(default_factory=list)  # TUFA zero-shot: points never anchors or targets, nor validated
    epochs: int = 120
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr_scale: float = 1.0  # the feature backbone's learning rate is lr x this (e.g. 0.1, as DETR does)
    weight_decay: float = 1e-4
    warmup_epochs: int = 2
    ema_decay: float | None = None  # exponential moving average of weights and BN statistics; validated and saved
    seed: int = 0
    threads: int = 2
    workers: int = 1
    output_dir: str = "runs"

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict | None = None) -> "TrainConfig":
        """The config in YAML file ``path`` with ``overrides`` (field -> value) applied, every
        value checked up front: ``ConfigError`` (a ``ValueError``, one line naming the field)."""
        raw = read_config_mapping(path, cls, overrides)
        if "model" not in raw:
            raw["model"] = {}
        build_section(raw, "model", ARCHITECTURES[raw.get("architecture", "atpn")][1], path)
        build_section(raw, "augment", AugmentConfig, path)
        cfg = cls(**raw)
        check_combination(cfg, path)
        return cfg


def check_combination(cfg: TrainConfig, path: str | Path) -> None:
    """Fields that must agree with each other: the model's point count with the scheme's, the
    attention width with its heads, one repeat count per training list."""
    from ..schemes import get_scheme

    points = get_scheme(cfg.scheme).num_points
    if cfg.model.num_points != points:
        raise ConfigError(f"{path}: model.num_points is {cfg.model.num_points} but scheme {cfg.scheme} has {points} "
                          "points; make them agree")
    dim, heads = getattr(cfg.model, "dim", None), getattr(cfg.model, "heads", None)
    if dim is not None and heads is not None and dim % heads:
        raise ConfigError(f"{path}: model.dim ({dim}) must be a multiple of model.heads ({heads})")
    if cfg.list_repeats is not None and len(cfg.list_repeats) != len(cfg.train_lists):
        raise ConfigError(f"{path}: list_repeats gives {len(cfg.list_repeats)} counts for {len(cfg.train_lists)} "
                          "train_lists; give one per list")
