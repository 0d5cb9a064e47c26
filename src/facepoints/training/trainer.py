"""Training loop: seeded, logged, checkpointed every epoch, resumable after a kill."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..datasets.image_list import read_image_list
from ..datasets.landmark_dataset import EpochSampler, LandmarkDataset
from ..datasets.splits import split_train_val
from ..pipeline.crop import CropSpec
from ..registry.architectures import ARCHITECTURES
from ..schemes import get_scheme
from .checkpoint import load_checkpoint, save_atomic
from .config import TrainConfig
from .losses import interocular
from .objectives import OBJECTIVES


def build_model(cfg: TrainConfig) -> nn.Module:
    """The network of ``cfg`` with the scheme's mean shape (in crop coordinates) as its prior."""
    scheme = get_scheme(cfg.scheme)
    spec = CropSpec(cfg.model.input_size, cfg.crop_margin)
    return ARCHITECTURES[cfg.architecture][0](cfg.model, spec.mean_shape_in_crop(scheme.mean_shape))


def load_backbone(model: nn.Module, checkpoint: str | Path) -> int:
    """Copy the ``backbone.*`` weights of a training checkpoint (any architecture with the same
    backbone) into ``model``; returns the number of tensors copied."""
    state = load_checkpoint(checkpoint)["model"]
    own = model.backbone.state_dict()
    picked = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    picked = {k: v for k, v in picked.items() if k in own and own[k].shape == v.shape}
    if not picked:
        raise ValueError(f"{checkpoint}: no backbone weights matching {model.config.backbone}")
    model.backbone.load_state_dict(picked, strict=False)
    return len(picked)


def load_splits(cfg: TrainConfig):
    """(train, val) records: validation is carved from the first list only (the clean source)."""
    root = Path(cfg.data_root)
    train, val = [], []
    for i, name in enumerate(cfg.train_lists):
        records = read_image_list(root / name, cfg.scheme)
        if i == 0:
            tr, va = split_train_val(records, cfg.val_fraction)
            train += tr
            val += va
        else:
            train += records
    return train, val


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up then cosine decay to zero."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


@torch.inference_mode()
def validate(model: nn.Module, loader: DataLoader, scheme) -> float:
    """Mean inter-ocular NME on a (non-augmented) loader."""
    model.eval()
    errs = []
    for batch in loader:
        pred = model(batch["image"])
        err = (pred - batch["target"]).norm(dim=-1).mean(dim=1) / interocular(batch["target"], scheme)
        errs.append(err)
    return float(torch.cat(errs).mean()) if errs else float("nan")


class Trainer:
    """Runs ``cfg`` into ``cfg.run_dir``: ``last.pt`` (resume), ``best.pt`` (lowest val NME), ``log.jsonl``.

    With ``cfg.ema_decay`` the validated and saved ``model`` is the moving average of the weights and
    BatchNorm statistics (``raw_model`` in the checkpoint keeps the optimised weights for resuming).
    """

    def __init__(self, cfg: TrainConfig, progress: bool = True) -> None:
        self.cfg = cfg
        self.progress = progress
        self.dir = cfg.run_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        self.scheme = get_scheme(cfg.scheme)
        self.spec = CropSpec(cfg.model.input_size, cfg.crop_margin)
        train, val = load_splits(cfg)
        if len(train) < cfg.batch_size:  # drop_last: not one step per epoch
            raise ValueError(f"{len(train)} training faces cannot fill one batch (batch_size {cfg.batch_size})")
        self.train_set = LandmarkDataset(train, self.scheme, self.spec, cfg.augment, cfg.seed)
        self.val_set = LandmarkDataset(val, self.scheme, self.spec, None)
        self.sampler = EpochSampler(len(self.train_set), cfg.seed)
        workers = cfg.workers
        self.train_loader = DataLoader(self.train_set, cfg.batch_size, sampler=self.sampler, drop_last=True,
                                       num_workers=workers, persistent_workers=workers > 0)
        self.val_loader = DataLoader(self.val_set, 64, num_workers=0)
        self.model = build_model(cfg)
        self.objective = OBJECTIVES[cfg.architecture]
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.start_epoch, self.best = 0, float("inf")
        last = self.dir / "last.pt"
        if not last.exists():
            if cfg.init_checkpoint:
                self.model.load_state_dict(load_checkpoint(cfg.init_checkpoint)["model"])
                print(f"initialised from {cfg.init_checkpoint}")
            elif cfg.init_backbone:
                count = load_backbone(self.model, cfg.init_backbone)
                print(f"backbone initialised from {cfg.init_backbone} ({count} tensors)")
            elif cfg.imagenet_init and cfg.model.backbone.startswith("efficientnet_lite"):
                self.model.backbone.load_imagenet()
        self.ema = (AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
                    if cfg.ema_decay else None)
        if last.exists():
            self._resume(last)
        (self.dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(path)
        self.model.load_state_dict(state.get("raw_model", state["model"]))
        if self.ema is not None:
            self.ema.module.load_state_dict(state["model"])
            self.ema.n_averaged.fill_(state.get("ema_updates", 1))
        self.optimizer.load_state_dict(state["optimizer"])
        self.start_epoch, self.best = state["epoch"] + 1, state["best"]
        print(f"resumed {path} at epoch {self.start_epoch} (best val NME {100 * self.best:.3f} %)")

    @property
    def evaluated_model(self) -> nn.Module:
        """The weights that are validated and saved as ``model``: the moving average when enabled."""
        return self.model if self.ema is None else self.ema.module

    def _state(self, epoch: int) -> dict:
        state = {"model": self.evaluated_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "epoch": epoch, "best": self.best, "config": self.cfg.to_dict()}
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
                group["lr"] = lr_at(epoch * steps + i, total, warmup, cfg.lr)
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
            val = validate(self.evaluated_model, self.val_loader, self.scheme)
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
            print(f"epoch {epoch + 1}/{self.cfg.epochs} loss {loss:.4f} val NME {100 * val:.3f} %"
                  f"{' *' if improved else ''} ({row['seconds']} s)", flush=True)
        return self.best
