"""The landmark objective (ATPN; DSLPT's patch loss in ``PatchTransformerObjective``): a
``TrainConfig``'s lists, split, augmented and batched; the network with the scheme's mean shape
as its prior; inter-ocular NME validation. ``objective_class`` maps an architecture to its
objective class (TUFA's is ``tufa_objective.TufaObjective``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..datasets.image_list import read_image_list
from ..datasets.landmark_dataset import EpochSampler, LandmarkDataset
from ..datasets.splits import split_train_val
from ..pipeline.crop import CropSpec
from ..registry.architectures import ARCHITECTURES
from ..schemes import get_scheme
from .checkpoint import load_grown_state, load_shared_state, starting_weights
from .config import TrainConfig
from .distributed import ShardSampler
from .head_losses import landmark_loss
from .losses import interocular
from .objective import Objective, Schedule, json_number
from .point_weights import sigma_weights
from .patch_losses import patch_transformer_loss


def feature_backbone(model: nn.Module) -> nn.Module | None:
    """``model.backbone``, or its token encoder's (TUFA's CNN encoder); ``None`` without one."""
    backbone = getattr(model, "backbone", None)
    return backbone if backbone is not None else getattr(getattr(model, "encoder", None), "backbone", None)


def parameter_groups(model: nn.Module, backbone_lr_scale: float = 1.0) -> list[dict]:
    """Optimiser parameter groups: one, or with ``backbone_lr_scale`` != 1 the rest first and the
    feature backbone second with ``lr_scale`` (the trainer multiplies its learning rate by it)."""
    backbone = feature_backbone(model)
    if backbone_lr_scale == 1.0 or backbone is None:
        return [{"params": list(model.parameters())}]
    if backbone_lr_scale <= 0:
        raise ValueError(f"backbone_lr_scale must be positive, got {backbone_lr_scale}")
    inner = {id(p) for p in backbone.parameters()}
    return [{"params": [p for p in model.parameters() if id(p) not in inner]},
            {"params": list(backbone.parameters()), "lr_scale": backbone_lr_scale}]


def load_backbone(model: nn.Module, checkpoint: str | Path) -> int:
    """Copy the ``backbone.*`` weights of a training checkpoint or registered model (any
    architecture with the same backbone; ``starting_weights``) into ``model``'s feature backbone;
    returns the number of tensors copied."""
    state = starting_weights(checkpoint)
    backbone = feature_backbone(model)
    own = backbone.state_dict() if backbone is not None else {}
    picked = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    picked = {k: v for k, v in picked.items() if k in own and own[k].shape == v.shape}
    if not picked:
        raise ValueError(f"{checkpoint}: no backbone weights matching this model's backbone")
    backbone.load_state_dict(picked, strict=False)
    return len(picked)


def load_splits(cfg: TrainConfig) -> tuple[list, list, list[int]]:
    """(train, val, sources) records: validation is carved from the first list only (the clean
    source); ``sources[i]`` is the ``train_lists`` index of ``train[i]``. Every face must have
    the scheme's point count (one count per run). ``cfg.list_repeats`` repeats each list's training
    faces that many times (a larger share of every epoch; each repeat is its own augmentation)."""
    root = Path(cfg.data_root)
    num_points = get_scheme(cfg.scheme).num_points
    repeats = cfg.list_repeats or [1] * len(cfg.train_lists)
    if len(repeats) != len(cfg.train_lists) or any(int(r) != r or r < 1 for r in repeats):
        raise ValueError(f"list_repeats {cfg.list_repeats} must give a positive whole number for each of the "
                         f"{len(cfg.train_lists)} train_lists")
    train, val, sources = [], [], []
    for i, name in enumerate(cfg.train_lists):
        records = read_image_list(root / name, cfg.scheme)
        odd = next((r for r in records if len(r.landmarks) != num_points), None)
        if odd is not None:
            raise ValueError(f"{root / name}: {odd.image_path.name} has {len(odd.landmarks)} points, scheme "
                             f"{cfg.scheme} {num_points}; every training list must use the config's scheme")
        tr, va = split_train_val(records, cfg.val_fraction) if i == 0 else (records, [])
        train += tr * repeats[i]
        val += va
        sources += [i] * (len(tr) * repeats[i])
    return train, val, sources


def describe_val(val: float) -> str:
    """``val NME 3.512 %``, or ``no validation faces`` for the NaN of an empty validation split."""
    return "no validation faces" if np.isnan(val) else f"val NME {100 * val:.3f} %"


RESUME_FIELDS = ("architecture", "scheme", "crop_margin", "model", "alignment", "alignment_sets", "withhold")


def changed_fields(saved: dict, current: dict, keys: tuple[str, ...] = RESUME_FIELDS) -> list[str]:
    """``field (saved -> now)`` for each of ``keys`` (the model section field by field) whose
    value in a run's saved config differs from ``current``: resuming needs the same network."""
    def norm(value: object) -> object:
        if isinstance(value, (list, tuple)):
            return [norm(v) for v in value]
        return {k: norm(v) for k, v in value.items()} if isinstance(value, dict) else value

    out = []
    for key in keys:
        old, new = norm(saved.get(key)), norm(current.get(key))
        if key == "model" and isinstance(old, dict) and isinstance(new, dict):
            out += [f"model.{k} ({old[k]!r} -> {new[k]!r})" for k in old if k in new and old[k] != new[k]]
        elif old != new and key in saved:
            out.append(f"{key} ({old!r} -> {new!r})")
    return out


@torch.inference_mode()
def validate(model: nn.Module, loader: DataLoader, scheme, points: list[int] | None = None) -> float:
    """Mean inter-ocular NME on a (non-augmented) loader, over ``points`` only when given
    (e.g. all but withheld zero-shot points; the normaliser still uses the eye corners)."""
    model.eval()
    errs = []
    for batch in loader:
        pred, target = model(batch["image"]), batch["target"]
        if points is not None:
            pred, target = pred[:, points], target[:, points]
        err = (pred - target).norm(dim=-1).mean(dim=1) / interocular(batch["target"], scheme)
        errs.append(err)
    return float(torch.cat(errs).mean()) if errs else float("nan")


class LandmarkObjective(Objective):
    """Landmarks on a ``TrainConfig``'s training lists (ATPN: the configured loss, ``nme`` eq. 3.3,
    ``l1`` or a Wing loss, on the final landmarks, plus a SimCC or heatmap head's KL:
    ``head_losses``; per-point weights from a teacher's sigma with ``sigma_weights``); validation
    is the inter-ocular NME of the first list's held-out faces. Subclasses replace ``prepare_config``, ``build_network`` and ``loss``."""

    cfg: TrainConfig

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(self.prepare_config(cfg))
        self.scheme = get_scheme(self.cfg.scheme)
        self.spec = CropSpec(self.cfg.model.input_size, self.cfg.crop_margin)

    @classmethod
    def prepare_config(cls, cfg: TrainConfig) -> TrainConfig:
        """``cfg`` checked for this architecture (``ValueError``, one line)."""
        if cfg.withhold:
            raise ValueError(f"withhold (zero-shot points) needs architecture tufa, not {cfg.architecture}")
        return cfg

    @classmethod
    def build_network(cls, cfg: TrainConfig) -> nn.Module:
        """The network of ``cfg`` with the scheme's mean shape (in crop coordinates) as its prior."""
        spec = CropSpec(cfg.model.input_size, cfg.crop_margin)
        return ARCHITECTURES[cfg.architecture][0](cfg.model, spec.mean_shape_in_crop(get_scheme(cfg.scheme).mean_shape))

    @property
    def val_points(self) -> list[int] | None:
        """The scheme points validated (``None``: all)."""
        return None

    def schedule(self) -> Schedule:
        return Schedule(self.cfg.epochs, self.cfg.lr, self.cfg.warmup_epochs, self.cfg.ema_decay)

    def setup(self) -> nn.Module:
        cfg = self.cfg
        train, val, sources = self.load_data()
        self.train_set = self.training_set(train, sources)
        if len(self.train_set) < cfg.batch_size:  # drop_last: not one step per epoch
            raise ValueError(f"{len(train)} training faces cannot fill one batch (batch_size {cfg.batch_size})")
        self.sampler = EpochSampler(len(self.train_set), cfg.seed)
        ranks = self.ranks  # several processes: each loads its share of every global batch
        shard = ShardSampler(self.sampler, cfg.batch_size, ranks) if ranks.distributed else self.sampler
        self.train_loader = DataLoader(self.train_set, ranks.local_batch(cfg.batch_size), sampler=shard,
                                       drop_last=True, num_workers=cfg.workers, persistent_workers=cfg.workers > 0)
        self.val_loader = DataLoader(LandmarkDataset(val, self.scheme, self.spec, None), 64, num_workers=0)
        return self.build_model()

    # --- what a subclass may replace (e.g. few-shot fine-tuning) ----------------------------------

    def load_data(self) -> tuple[list, list, list[int]]:
        """(train, val, sources) records (``load_splits``)."""
        return load_splits(self.cfg)

    def training_set(self, records: list, sources: list[int]) -> Dataset:
        """The augmented training data set; its length is one epoch's samples."""
        cfg = self.cfg
        weights = sigma_weights(records, self.scheme) if cfg.sigma_weights else None
        return LandmarkDataset(records, self.scheme, self.spec, cfg.augment, cfg.seed, sources=sources,
                               hidden=cfg.withhold, weights=weights)

    def build_model(self) -> nn.Module:
        """The network to train (``build_network``)."""
        return self.build_network(self.cfg)

    def initialise(self, model: nn.Module) -> None:
        """A checkpoint's weights, a backbone's, or ImageNet's."""
        cfg = self.cfg
        if cfg.init_checkpoint and cfg.init_shared:
            fresh, dropped = load_shared_state(model, starting_weights(cfg.init_checkpoint))
            print(f"initialised the shared weights from {cfg.init_checkpoint}; fresh: {_modules(fresh)}; "
                  f"dropped: {_modules(dropped)}")
        elif cfg.init_checkpoint:
            fresh = load_grown_state(model, starting_weights(cfg.init_checkpoint))
            print(f"initialised from {cfg.init_checkpoint}"
                  + (f"; new, freshly initialised: {_modules(fresh, depth=1)} ({len(fresh)} tensors)" if fresh else ""))
        elif cfg.init_backbone:
            count = load_backbone(model, cfg.init_backbone)
            print(f"backbone initialised from {cfg.init_backbone} ({count} tensors)")
        elif cfg.imagenet_init and hasattr(backbone := feature_backbone(model), "load_imagenet"):
            backbone.load_imagenet()

    # --- the loop's questions ----------------------------------------------------------------------

    def parameter_groups(self, model: nn.Module) -> list[dict]:
        return parameter_groups(model, self.cfg.backbone_lr_scale)

    def batches(self, epoch: int) -> tuple[int, DataLoader]:
        self.sampler.set_epoch(epoch)
        return len(self.train_loader), self.train_loader

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        cfg = self.cfg
        return landmark_loss(model, batch["image"], batch["target"], self.scheme, cfg.loss, cfg.simcc_sigma,
                             cfg.simcc_weight, batch.get("weight"), cfg.heatmap_sigma, cfg.heatmap_weight)

    def validate(self, model: nn.Module) -> dict:
        return {"nme": validate(model, self.val_loader, self.scheme, self.val_points)}

    def score(self, metrics: dict) -> float:
        return metrics["nme"]

    def describe(self, metrics: dict) -> str:
        return describe_val(metrics["nme"])

    def describe_best(self, best: float, metrics: dict) -> str:
        return describe_val(best)

    def log_fields(self, metrics: dict, best: float) -> dict:
        return {"val_nme": json_number(metrics["nme"]), "best": json_number(best)}

    def resumable(self, state: dict, path: Path) -> bool:
        """A run resumes only with the network it saved (``changed_fields``)."""
        if not isinstance(state.get("config"), dict):
            raise ValueError(f"{path}: cannot resume this run from it (it holds no training config); "
                             f"{self.resume_hint()}")
        changed = changed_fields(state["config"], self.cfg.to_dict())
        if changed:
            raise ValueError(f"{self.run_dir}: the run's saved config ({path.name}) differs from this config in "
                             f"{', '.join(changed)}; resume with the saved values, or {self.resume_hint()}")
        return True


class PatchTransformerObjective(LandmarkObjective):
    """SLPT / DSLPT: every stage and layer supervised; the loss follows the model's distribution
    (with ``cfg.nll_beta``)."""

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        stages = model.forward_stages(batch["image"])
        return patch_transformer_loss(stages, batch["target"], self.scheme, model.config.distribution,
                                      self.cfg.nll_beta)


def landmark_objective(cfg: TrainConfig) -> LandmarkObjective:
    """The objective of ``cfg``'s architecture (``objective_class``)."""
    return objective_class(cfg.architecture)(cfg)


def objective_class(architecture: str) -> type[LandmarkObjective]:
    """The objective class of a registry architecture: ``LandmarkObjective`` (the configured loss on
    ``model(images)``) unless the architecture has its own (``dslpt``, ``tufa``)."""
    from .tufa_objective import TufaObjective  # (it builds on this module)

    return {"dslpt": PatchTransformerObjective, "tufa": TufaObjective}.get(architecture, LandmarkObjective)


def build_model(cfg: TrainConfig) -> nn.Module:
    """The network ``cfg`` trains, as its architecture's objective builds it."""
    objective = objective_class(cfg.architecture)
    return objective.build_network(objective.prepare_config(cfg))


def _modules(keys: list[str], depth: int = 2) -> str:
    """The distinct module paths (first ``depth`` parts) of state-dict keys, for a log line."""
    return ", ".join(sorted({".".join(key.split(".")[:depth]) for key in keys})) or "none"
