"""Training configuration, read from a YAML file."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

from ..datasets.augment import AugmentConfig
from ..models import ATPNConfig
from ..registry.architectures import ARCHITECTURES
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
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        raw = read_config_mapping(path, cls)
        architecture = raw.get("architecture", "atpn")
        if architecture not in ARCHITECTURES:
            raise ValueError(f"{path}: unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
        if "model" not in raw:
            raw["model"] = {}
        build_section(raw, "model", ARCHITECTURES[architecture][1], path)
        build_section(raw, "augment", AugmentConfig, path)
        return cls(**raw)
