"""Training configuration, read from a YAML file."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..datasets.augment import AugmentConfig
from ..models import ATPNConfig
from .yaml_config import RunConfig, build_section, read_config_mapping


@dataclass
class TrainConfig(RunConfig):
    """Everything a training run needs; relative data paths are resolved against ``data_root``."""

    name: str = "atpn_lite0_68"
    data_root: str = "../shared/data"
    train_lists: list[str] = field(default_factory=lambda: ["300W/train.txt"])
    val_fraction: float = 0.1
    scheme: str = "ibug68"
    model: ATPNConfig = field(default_factory=ATPNConfig)
    crop_margin: float = 1.25
    imagenet_init: bool = True
    init_checkpoint: str | None = None  # start from this run's weights (fine-tuning); overrides imagenet_init
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loss: str = "nme"
    epochs: int = 120
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 2
    seed: int = 0
    threads: int = 2
    workers: int = 1
    output_dir: str = "runs"

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        raw = read_config_mapping(path, cls)
        build_section(raw, "model", ATPNConfig, path)
        build_section(raw, "augment", AugmentConfig, path)
        return cls(**raw)
