"""What the one training loop (``training.trainer.Trainer``) asks of a run: an ``Objective`` builds
what it trains, says which parameters train, gives batches and their loss, validates, and names
what a checkpoint holds. Objectives: landmarks (ATPN, DSLPT: ``landmark_objective``; TUFA:
``tufa_objective``), few-shot fine-tuning (``finetune``), one branch stage (``branch_objective``)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from .distributed import Ranks
from .yaml_config import RunConfig


@dataclass(frozen=True)
class Schedule:
    """The loop's schedule: ``epochs``, base learning rate ``lr`` (linear warm-up over
    ``warmup_epochs``, then cosine to zero), ``ema_decay`` (weight averaging; ``None``: off)."""

    epochs: int
    lr: float
    warmup_epochs: int = 0
    ema_decay: float | None = None


def json_number(value: float) -> float | None:
    """``value``, or ``None`` (JSON null) for NaN / infinity."""
    return value if math.isfinite(value) else None


class Objective:
    """One run's objective. The loop calls, in order: ``setup`` (data and network), then per fresh
    run ``initialise``; per epoch ``batches`` / ``loss`` and ``validate``; ``checkpoint_extras``
    and ``config_record`` on every save. Lower ``score`` is better."""

    #: prefix of the run's files (``<label>_last.pt``) and progress lines; "" for a whole-model run
    label: str = ""
    #: the checkpoint entry holding the trained weights
    weights_key: str = "model"
    #: this process among the training processes (set by the loop before ``setup``): ``batches``
    #: gives this rank's share of every global batch
    ranks: Ranks = Ranks()

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg

    @property
    def run_dir(self) -> Path:
        return self.cfg.run_dir

    def schedule(self) -> Schedule:
        raise NotImplementedError

    def setup(self) -> nn.Module:
        """Read the data and build the network to train; returns it."""
        raise NotImplementedError

    def initialise(self, model: nn.Module) -> None:
        """Starting weights of a fresh run (not on resume); none here."""

    def parameter_groups(self, model: nn.Module) -> list[dict]:
        """The optimiser's parameter groups (a group's ``lr_scale`` multiplies the schedule's rate)."""
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def optimizer(self, groups: list[dict]) -> torch.optim.Optimizer:
        return torch.optim.AdamW(groups, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)

    def train_mode(self, model: nn.Module) -> None:
        """Put what trains in training mode before an epoch."""
        model.train()

    def batches(self, epoch: int) -> tuple[int, Iterable]:
        """(steps, batches) of epoch ``epoch`` (0-based)."""
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: object) -> torch.Tensor:
        raise NotImplementedError

    def validate(self, model: nn.Module) -> dict:
        """Validation metrics (JSON numbers) of ``model``."""
        raise NotImplementedError

    def score(self, metrics: dict) -> float:
        """Lower is better; NaN (nothing to validate on) counts as an improvement."""
        raise NotImplementedError

    def describe(self, metrics: dict) -> str:
        """``val NME 3.512 %``: the metrics in a progress line."""
        raise NotImplementedError

    def describe_best(self, best: float, metrics: dict) -> str:
        """The best score so far in a progress line (``metrics``: its metrics, ``{}`` when a
        checkpoint written before they were saved has none)."""
        return self.describe(metrics) if metrics else f"score {best:.6g}"

    def log_fields(self, metrics: dict, best: float) -> dict:
        """What a ``log.jsonl`` row records of the epoch's validation."""
        return {"val": metrics, "best": json_number(best)}

    def saved_module(self, model: nn.Module) -> nn.Module:
        """The module whose weights a checkpoint holds (``weights_key``)."""
        return model

    def resumable(self, state: dict, path: Path) -> bool:
        """Whether the run resumes from checkpoint ``state``; ``False`` trains afresh, an error
        (one line) refuses a checkpoint that belongs to another run."""
        return True

    def resume_hint(self) -> str:
        """What to do when a checkpoint cannot be resumed from."""
        return f"start afresh under another name or output_dir (or delete {self.run_dir})"

    def config_record(self) -> dict | None:
        """The checkpoint's ``config`` entry (``None``: none)."""
        return self.cfg.to_dict()

    def checkpoint_extras(self) -> dict:
        """More records for every checkpoint (none here)."""
        return {}
