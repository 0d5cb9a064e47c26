"""ATPN stages 2 and 3: train the face-confidence and pose branches on a frozen landmark network.

Each stage is a ``BranchStageObjective`` run by the one training loop (``trainer.Trainer``) into
``cfg.run_dir``: ``<stage>_last.pt`` after every epoch (a rerun resumes there), ``<stage>_best.pt``
(best validation epoch: highest AP / lowest pose MAE), ``log.jsonl``; then ``train_branches``
writes ``best.pt``, the combined checkpoint (landmark weights + both best branches) that
``facepoints package`` ships. The face-confidence stage is named ``tracking`` on disk
(``CONFIDENCE``: the thesis's stage 2, and the runs written before).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from ..metrics import average_precision, pose_summary
from ..models import ATPN
from ..registry.checkpoint import load_checkpoint
from .branch_config import BranchConfig
from .branch_setup import BranchRun, base_branch, freeze_for_branches
from .distributed import join
from .losses import face_confidence_loss, pose_loss
from .objective import Objective, Schedule
from .trainer import Trainer

#: the face-confidence stage's name in file names, logs and ``tracking_epochs`` (the thesis's stage 2,
#: "tracking"; kept so that runs written before resume)
CONFIDENCE = "tracking"
STAGES = (CONFIDENCE, "pose")     # thesis order: stage 2 face confidence, stage 3 pose


def branch_of(model: ATPN, stage: str) -> nn.Module:
    """The branch a stage trains: ``confidence_branch`` (stage ``tracking``) or ``pose_branch``."""
    return model.confidence_branch if stage == CONFIDENCE else model.pose_branch


class BranchStageObjective(Objective):
    """One stage: a branch on cached features of the frozen network (Adam, cosine schedule without
    warm-up); its checkpoints hold the branch's weights (``branch``) and the base's ``base_sha``."""

    weights_key = "branch"

    def __init__(self, run: BranchRun, stage: str) -> None:
        super().__init__(run.cfg)
        self.run, self.label = run, stage
        self._data: dict[str, dict[str, torch.Tensor]] = {}

    def data(self, split: str) -> dict[str, torch.Tensor]:
        if split not in self._data:
            run = self.run
            self._data[split] = run.confidence_data(split) if self.label == CONFIDENCE else run.pose_data(split)
        return self._data[split]

    def schedule(self) -> Schedule:
        cfg = self.cfg
        return Schedule(cfg.tracking_epochs if self.label == CONFIDENCE else cfg.pose_epochs, cfg.lr)

    def setup(self) -> nn.Module:
        return self.run.model

    def saved_module(self, model: nn.Module) -> nn.Module:
        return branch_of(model, self.label)

    def parameter_groups(self, model: nn.Module) -> list[dict]:
        return [{"params": [p for p in branch_of(model, self.label).parameters() if p.requires_grad]}]

    def optimizer(self, groups: list[dict]) -> torch.optim.Optimizer:
        return torch.optim.Adam(groups, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)

    def train_mode(self, model: nn.Module) -> None:
        branch_of(model, self.label).train()  # the frozen network stays in eval mode

    def batches(self, epoch: int) -> tuple[int, Iterator]:
        data, bs = self.data("train"), self.cfg.batch_size
        n = len(data["labels"])
        order = torch.from_numpy(np.random.default_rng([self.cfg.seed, 7, epoch]).permutation(n))
        steps, local = n // bs, self.ranks.local_batch(bs)
        start = self.ranks.rank * local  # this process's share of each global batch
        return steps, ((data["features"][idx].float(), data["labels"][idx])
                       for idx in (order[i * bs + start:i * bs + start + local] for i in range(steps)))

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        features, labels = batch
        out = branch_of(model, self.label)(features)
        return face_confidence_loss(out, labels) if self.label == CONFIDENCE else pose_loss(out, labels)

    @torch.inference_mode()
    def validate(self, model: nn.Module) -> dict:
        """Face confidence: AP and loss; pose: MAE etc. in degrees (``pose_summary``)."""
        data = self.data("val")
        branch = branch_of(model, self.label).eval()
        outs = torch.cat([branch(data["features"][i:i + 256].float()) for i in range(0, len(data["labels"]), 256)])
        labels = data["labels"]
        branch.train()
        if self.label == CONFIDENCE:
            prob = torch.softmax(outs, dim=1)[:, 1].numpy()
            return {"ap": average_precision(prob, labels.numpy() > 0.5),
                    "loss": float(face_confidence_loss(outs, labels))}
        return pose_summary(np.rad2deg(outs.numpy()), np.rad2deg(labels.numpy()))

    def score(self, metrics: dict) -> float:
        return -metrics["ap"] if self.label == CONFIDENCE else metrics["mae"]

    def describe(self, metrics: dict) -> str:
        if self.label == CONFIDENCE:
            return f"val AP {100 * metrics['ap']:.2f} %"
        return f"val MAE {metrics['mae']:.2f} deg, FR@10 {100 * metrics['fr_10']:.2f} %"

    def log_fields(self, metrics: dict, best: float) -> dict:
        return {"stage": self.label, "val": metrics, "samples": len(self.data("train")["labels"]),
                "base": self.run.tag}

    def resumable(self, state: dict, path: Path) -> bool:
        if state.get("base_sha") == self.run.base_sha:
            return True
        print(f"{self.label}: {path} belongs to other base weights; training from scratch")
        return False

    def resume_hint(self) -> str:
        return "delete it to train the stage afresh"

    def config_record(self) -> dict | None:
        return None

    def checkpoint_extras(self) -> dict:
        return {"base_sha": self.run.base_sha}


def train_branches(cfg: BranchConfig, progress: bool = True) -> Path:
    """The stages ``cfg.stages`` names (resuming where a run stopped; the others' branches copied
    from ``cfg.base``), then the combined checkpoint ``best.pt``; returns its path."""
    if join().distributed:
        raise ValueError("branches train on one process (each stage reads cached features); run without torchrun")
    run = BranchRun(cfg, progress)
    freeze_for_branches(run.model)
    results = {}
    for stage in STAGES:
        if stage in cfg.stages:
            trainer = Trainer(BranchStageObjective(run, stage), progress)
            trainer.run()
            results[stage] = trainer.best_metrics
            weights = load_checkpoint(cfg.run_dir / f"{stage}_best.pt")["branch"]
        else:
            weights, results[stage] = base_branch(cfg.base, "confidence_branch" if stage == CONFIDENCE else "pose_branch")
        branch_of(run.model, stage).load_state_dict(weights)
    return run.save_combined(results)
