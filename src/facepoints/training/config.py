"""The training config tree: ``RunConfig`` (``yaml_config``) with one subclass per objective:
``TrainConfig`` (landmarks; a ``model`` section per architecture), ``BranchConfig`` (pose and
face-confidence branches), ``FinetuneConfig`` (few-shot TUFA); ``load_config`` reads any of them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datasets.augment import AugmentConfig
from ..models import ATPNConfig
from ..registry.architectures import ARCHITECTURES
from .branch_config import BranchConfig
from .config_checks import ConfigError
from .finetune_config import FinetuneConfig
from .yaml_config import RunConfig, at_place, read_yaml_mapping


@dataclass(kw_only=True)
class TrainConfig(RunConfig):
    """A landmark run (ATPN, DSLPT, TUFA); relative data paths are resolved against ``data_root``."""

    objective: str = "landmarks"
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
    init_shared: bool = False  # with init_checkpoint: copy only the tensors of the same name and shape (a new head)
    init_backbone: str | None = None  # copy the backbone of this checkpoint or registered model (any architecture)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loss: str = "nme"  # ATPN's landmark loss (nme, l1, wing, softwing, awing); SLPT / DSLPT follow model.distribution
    simcc_sigma: float = 1.5  # ATPN head simcc: the Gaussian bin targets' sigma in input pixels
    simcc_weight: float = 1.0  # ATPN head simcc: weight of the bins' KL loss beside `loss` on the decoded points
    heatmap_sigma: float = 4.0  # ATPN head heatmap: the 2-D Gaussian targets' sigma in input pixels (1 cell)
    heatmap_weight: float = 1.0  # ATPN head heatmap: weight of the heatmaps' KL loss beside `loss`
    sigma_weights: bool = False  # per-point loss weights from .sigma files beside the .pts (training.point_weights)
    nll_beta: float = 0.0  # DSLPT: beta-NLL weighting (0 = the thesis' plain NLL; see training.patch_losses)
    alignment: bool = True  # TUFA: one alignment-embedding set per training list (False: all share the first's)
    alignment_sets: list[str] | None = None  # TUFA: each list's set name (default: the lists' folder names)
    withhold: list[int] = field(default_factory=list)  # TUFA zero-shot: points never anchors or targets, nor validated
    epochs: int = 120
    backbone_lr_scale: float = 1.0  # the feature backbone's learning rate is lr x this (e.g. 0.1, as DETR does)
    warmup_epochs: int = 2
    ema_decay: float | None = None  # exponential moving average of weights and BN statistics; validated and saved
    workers: int = 1

    @classmethod
    def sections(cls, raw: dict) -> dict[str, tuple[type, dict[str, type]]]:
        """``model`` (the config class of ``architecture``) and ``augment``."""
        raw.setdefault("model", {})
        return {"model": (ARCHITECTURES[raw.get("architecture", "atpn")][1], {}), "augment": (AugmentConfig, {})}

    def check(self, where: str | Path | None) -> None:
        check_combination(self, where)


#: objective name -> its config class
CONFIGS: dict[str, type[RunConfig]] = {"landmarks": TrainConfig, "branches": BranchConfig,
                                       "finetune": FinetuneConfig}


def objective_of(raw: dict) -> str:
    """The objective a config mapping names, else the first whose fields hold all its keys (configs
    written before the field), else ``landmarks`` (whose check then names the unknown keys)."""
    if isinstance(raw.get("objective"), str) and raw["objective"] in CONFIGS:
        return raw["objective"]
    if "objective" in raw:
        raise ConfigError(f"objective must be one of {', '.join(CONFIGS)}, not {raw['objective']!r:.60}")
    for name, cls in CONFIGS.items():
        if set(raw) <= set(cls.__dataclass_fields__):
            return name
    return "landmarks"


def load_config(path: str | Path, overrides: dict | None = None, objective: str | None = None) -> RunConfig:
    """The config in YAML file ``path`` (with ``overrides``), of the class its ``objective`` names
    (or ``objective``, e.g. from ``facepoints train-branches``), every value checked up front."""
    raw = read_yaml_mapping(path)
    raw.update(overrides or {})
    try:
        kind = objective or objective_of(raw)
    except ConfigError as exc:
        raise ConfigError(at_place(path, str(exc))) from None
    return CONFIGS[kind].from_mapping(raw, path)


def check_combination(cfg: TrainConfig, path: str | Path | None) -> None:
    """Fields that must agree with each other: the model's point count with the scheme's, the
    attention width with its heads, one repeat count per training list, init_shared with a checkpoint."""
    from ..schemes import get_scheme

    points = get_scheme(cfg.scheme).num_points
    if cfg.model.num_points != points:
        raise ConfigError(at_place(path, f"model.num_points is {cfg.model.num_points} but scheme {cfg.scheme} has {points} "
                          "points; make them agree"))
    dim, heads = getattr(cfg.model, "dim", None), getattr(cfg.model, "heads", None)
    if dim is not None and heads is not None and dim % heads:
        raise ConfigError(at_place(path, f"model.dim ({dim}) must be a multiple of model.heads ({heads})"))
    if cfg.list_repeats is not None and len(cfg.list_repeats) != len(cfg.train_lists):
        raise ConfigError(at_place(path, f"list_repeats gives {len(cfg.list_repeats)} counts for {len(cfg.train_lists)} "
                          "train_lists; give one per list"))
    if cfg.init_shared and not cfg.init_checkpoint:
        raise ConfigError(at_place(path, "init_shared copies weights from init_checkpoint; give init_checkpoint too"))
