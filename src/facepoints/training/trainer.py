"""Training loop: seeded, logged, checkpointed every epoch, resumable after a kill."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..datasets.image_list import read_image_list
from ..datasets.landmark_dataset import EpochSampler, LandmarkDataset
from ..datasets.splits import split_train_val
from ..pipeline.crop import CropSpec
from ..registry.architectures import ARCHITECTURES
from ..schemes import get_scheme
from .checkpoint import load_checkpoint, load_grown_state, save_atomic, starting_weights
from .config import TrainConfig
from .losses import interocular
from .objectives import OBJECTIVES
from .tufa_setup import build_tufa, kept_points, prepare_config


def build_model(cfg: TrainConfig) -> nn.Module:
    """The network of ``cfg`` with the scheme's mean shape (in crop coordinates) as its prior;
    TUFA takes the canonical (plane) mean shape, one alignment set per source (``tufa_setup``)."""
    if cfg.architecture == "tufa":
        return build_tufa(cfg)
    scheme = get_scheme(cfg.scheme)
    spec = CropSpec(cfg.model.input_size, cfg.crop_margin)
    return ARCHITECTURES[cfg.architecture][0](cfg.model, spec.mean_shape_in_crop(scheme.mean_shape))


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


def load_splits(cfg: TrainConfig):
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


def ema_decay_at(updates: int, decay: float) -> float:
    """The averaging decay after ``updates`` updates: ``min(decay, (1 + n) / (10 + n))``, so early in
    a run the average follows the weights (a fixed 0.999 would still weigh the initial weights by
    0.999 ** n) and spans about the last n / 9 updates until ``decay`` caps it."""
    return min(decay, (1 + updates) / (10 + updates))


def ema_with_warmup(decay: float):
    """``AveragedModel`` update: exponential moving average with ``ema_decay_at``'s warm-up."""
    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor) -> None:
        if not torch.is_floating_point(averaged[0]):  # integer buffers (BatchNorm's batch counts)
            torch._foreach_copy_(averaged, current)
            return
        torch._foreach_lerp_(averaged, current, 1 - ema_decay_at(int(updates), decay))
    return update


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


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up then cosine decay to zero."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


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


class Trainer:
    """Runs ``cfg`` into ``cfg.run_dir``: ``last.pt`` (resume), ``best.pt`` (lowest val NME), ``log.jsonl``.

    With ``cfg.ema_decay`` the validated and saved ``model`` is the moving average of the weights and
    BatchNorm statistics (``raw_model`` in the checkpoint keeps the optimised weights for resuming).
    """

    def __init__(self, cfg: TrainConfig, progress: bool = True) -> None:
        self.cfg = cfg = prepare_config(cfg)
        self.progress = progress
        self.dir = cfg.run_dir  # created once the data, model and starting weights are in place
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        self.scheme = get_scheme(cfg.scheme)
        self.spec = CropSpec(cfg.model.input_size, cfg.crop_margin)
        train, val, sources = self.load_data()
        self.train_set = self.training_set(train, sources)
        if len(self.train_set) < cfg.batch_size:  # drop_last: not one step per epoch
            raise ValueError(f"{len(train)} training faces cannot fill one batch (batch_size {cfg.batch_size})")
        self.val_points = kept_points(self.scheme.num_points, cfg.withhold) if cfg.withhold else None
        self.val_set = LandmarkDataset(val, self.scheme, self.spec, None)
        self.sampler = EpochSampler(len(self.train_set), cfg.seed)
        workers = cfg.workers
        self.train_loader = DataLoader(self.train_set, cfg.batch_size, sampler=self.sampler, drop_last=True,
                                       num_workers=workers, persistent_workers=workers > 0)
        self.val_loader = DataLoader(self.val_set, 64, num_workers=0)
        self.model = self.build_model()
        self.objective = OBJECTIVES[cfg.architecture]
        self.optimizer = torch.optim.AdamW(parameter_groups(self.model, cfg.backbone_lr_scale), lr=cfg.lr,
                                           weight_decay=cfg.weight_decay)
        self.start_epoch, self.best = 0, float("inf")
        last = self.dir / "last.pt"
        if not last.exists():
            self.initialise()
        self.ema = (AveragedModel(self.model, multi_avg_fn=ema_with_warmup(cfg.ema_decay), use_buffers=True)
                    if cfg.ema_decay else None)
        if last.exists():
            self._resume(last)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))

    # --- what a subclass may replace (e.g. few-shot fine-tuning) ----------------------------------

    def load_data(self) -> tuple[list, list, list[int]]:
        """(train, val, sources) records (``load_splits``)."""
        return load_splits(self.cfg)

    def training_set(self, records: list, sources: list[int]) -> Dataset:
        """The augmented training data set; its length is one epoch's samples."""
        cfg = self.cfg
        return LandmarkDataset(records, self.scheme, self.spec, cfg.augment, cfg.seed, sources=sources,
                               hidden=cfg.withhold)

    def build_model(self) -> nn.Module:
        """The network to train (``build_model``)."""
        return build_model(self.cfg)

    def initialise(self) -> None:
        """Starting weights of a fresh run (not on resume): a checkpoint, a backbone, or ImageNet."""
        cfg = self.cfg
        if cfg.init_checkpoint:
            fresh = load_grown_state(self.model, starting_weights(cfg.init_checkpoint))
            grown = sorted({key.split(".")[0] for key in fresh})
            print(f"initialised from {cfg.init_checkpoint}"
                  + (f"; new, freshly initialised: {', '.join(grown)} ({len(fresh)} tensors)" if fresh else ""))
        elif cfg.init_backbone:
            count = load_backbone(self.model, cfg.init_backbone)
            print(f"backbone initialised from {cfg.init_backbone} ({count} tensors)")
        elif cfg.imagenet_init and hasattr(backbone := feature_backbone(self.model), "load_imagenet"):
            backbone.load_imagenet()

    def checkpoint_extras(self) -> dict:
        """More records for every checkpoint (none here)."""
        return {}

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(path)
        afresh = f"start afresh under another name or output_dir (or delete {self.dir})"
        if not isinstance(state.get("config"), dict):
            raise ValueError(f"{path}: cannot resume this run from it (it holds no training config); {afresh}")
        changed = changed_fields(state["config"], self.cfg.to_dict())
        if changed:
            raise ValueError(f"{self.dir}: the run's saved config ({path.name}) differs from this config in "
                             f"{', '.join(changed)}; resume with the saved values, or {afresh}")
        try:
            self.model.load_state_dict(state.get("raw_model", state["model"]))
            if self.ema is not None:
                self.ema.module.load_state_dict(state["model"])
                self.ema.n_averaged.fill_(state.get("ema_updates", 1))
            self.optimizer.load_state_dict(state["optimizer"])
            epoch, best = state["epoch"], state["best"]
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or not isinstance(best, (int, float)):
                raise ValueError(f"epoch {epoch!r:.40} / best {best!r:.40} are not an epoch index and an NME")
        except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
            first = " ".join(str(exc).split())[:160]
            raise ValueError(f"{path}: cannot resume this run from it ({first}); {afresh}") from None
        self.start_epoch, self.best = epoch + 1, float(best)
        print(f"resumed {path} at epoch {self.start_epoch} (best: {describe_val(self.best)})")

    @property
    def evaluated_model(self) -> nn.Module:
        """The weights that are validated and saved as ``model``: the moving average when enabled."""
        return self.model if self.ema is None else self.ema.module

    def _state(self, epoch: int) -> dict:
        state = {"model": self.evaluated_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "epoch": epoch, "best": self.best, "config": self.cfg.to_dict(), **self.checkpoint_extras()}
        if self.ema is not None:
            state["raw_model"] = self.model.state_dict()
            state["ema_updates"] = int(self.ema.n_averaged)
        return state

    def train_epoch(self, epoch: int) -> float:
        cfg, steps = self.cfg, len(self.train_loader)
        total, warmup = cfg.epochs * steps, cfg.warmup_epochs * steps
        self.sampler.set_epoch(epoch)
        self.model.train()
        losses = []
        bar = tqdm(self.train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not self.progress)
        for i, batch in enumerate(bar):
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(epoch * steps + i, total, warmup, cfg.lr) * group.get("lr_scale", 1.0)
            loss = self.objective(self.model, batch, self.scheme, cfg)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        return float(np.mean(losses))

    def run(self) -> float:
        """Train to ``cfg.epochs``; returns the best validation NME."""
        for epoch in range(self.start_epoch, self.cfg.epochs):
            t0 = time.time()
            loss = self.train_epoch(epoch)
            val = validate(self.evaluated_model, self.val_loader, self.scheme, self.val_points)
            # without a validation split every epoch counts as the best so far (best.pt = last.pt)
            improved = not val >= self.best
            self.best = val if improved else self.best
            save_atomic(self._state(epoch), self.dir / "last.pt")
            if improved:
                save_atomic(self._state(epoch), self.dir / "best.pt")
            row = {"epoch": epoch + 1, "train_loss": loss, "val_nme": _json_number(val),
                   "best": _json_number(self.best),
                   "seconds": round(time.time() - t0, 1), "lr": self.optimizer.param_groups[0]["lr"]}
            with open(self.dir / "log.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"epoch {epoch + 1}/{self.cfg.epochs} loss {loss:.4f} {describe_val(val)}"
                  f"{' *' if improved else ''} ({row['seconds']} s)", flush=True)
        return self.best
