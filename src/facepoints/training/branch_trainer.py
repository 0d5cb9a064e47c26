"""ATPN stages 2 and 3: train the face-confidence and pose branches on a frozen landmark network.

Each stage is a ``BranchStageObjective`` run by the one training loop (``trainer.Trainer``) into
``cfg.run_dir``: ``<stage>_last.pt`` after every epoch (a rerun resumes there), ``<stage>_best.pt``
(best validation epoch: highest AP / lowest pose MAE), ``log.jsonl``; then ``train_branches``
writes ``best.pt``, the combined checkpoint (landmark weights + both best branches) that
``facepoints package`` ships. The face-confidence stage keeps its file name ``tracking`` (the
thesis's stage 2, and the runs written before).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from ..datasets.image_list import read_image_list
from ..datasets.splits import split_train_val
from ..metrics import average_precision, pose_summary
from ..models import ATPN, ATPNConfig
from ..pipeline.crop import CropSpec
from ..registry import create_model, get_card, sha256_of
from ..registry.checkpoint import (CheckpointError, architecture_of, checkpoint_network, load_checkpoint,
                                   save_atomic, training_checkpoint)
from ..schemes import get_scheme
from .branch_config import BranchConfig
from .branch_data import FeatureExtractor, build_cached, cache_key, pose_samples, tracking_samples
from .losses import face_confidence_loss, pose_loss
from .objective import Objective, Schedule
from .pose_labels import describe_labels, mean_face_3d
from .trainer import Trainer

STAGES = ("tracking", "pose")     # thesis order: stage 2 tracking, stage 3 pose


def load_landmark_base(base: str) -> tuple[ATPN, dict, dict | None, str]:
    """(landmark model, its training config, its card's training record or None, weights sha256)
    for a registry name or a ``facepoints train`` checkpoint."""
    if Path(base).suffix == ".pt" and Path(base).is_file():
        state = training_checkpoint(base)
        cfg = state["config"]
        if architecture_of(cfg) != "atpn":
            raise CheckpointError(f"{base}: branches train on an ATPN landmark model, not {cfg['architecture']}")
        landmarks = {k: v for k, v in state["model"].items() if not _is_branch(k)}
        _, model = checkpoint_network({"config": {"model": {**cfg["model"], "pose": False, "tracking": False}},
                                       "model": landmarks}, base)
        record = {"epochs_completed": int(state.get("epoch", 0)) + 1, "best_val_nme": state.get("best")}
        return model.eval(), cfg, record, sha256_of(base)
    card = get_card(base)
    if "config" not in card.training:
        raise ValueError(f"model {base}: its card records no training config")
    network = create_model(base)
    model = ATPN(ATPNConfig(**{**card.config, "pose": False, "tracking": False}))
    model.load_state_dict({k: v for k, v in network.state_dict().items() if not _is_branch(k)})
    record = {k: v for k, v in card.training.items() if k != "branches"}
    return model.eval(), card.training["config"], record, card.weights["torch"]["sha256"]


def _is_branch(key: str) -> bool:
    return key.startswith(("pose_branch.", "confidence_branch."))


def multitask_from(base: ATPN) -> ATPN:
    """A copy of ``base`` with fresh pose and tracking branches."""
    cfg = ATPNConfig(**{**base.config.to_dict(), "pose": True, "tracking": True})
    model = ATPN(cfg)
    missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
    if unexpected or any(not _is_branch(k) for k in missing):
        raise RuntimeError(f"landmark weights do not fit: missing {missing}, unexpected {unexpected}")
    return model


def freeze_for_branches(model: ATPN) -> list[nn.Parameter]:
    """Freeze everything but the branches (BatchNorm statistics too: the frozen part stays in eval
    mode); returns the trainable branch parameters."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = []
    for branch in (model.pose_branch, model.confidence_branch):
        if branch is not None:
            branch.train()
            for p in branch.parameters():
                p.requires_grad_(True)
                trainable.append(p)
    return trainable


class BranchRun:
    """What both stages share: the base landmark model with fresh branches, the data split, the
    feature caches of the frozen network, and the combined ``best.pt``."""

    def __init__(self, cfg: BranchConfig, progress: bool = True) -> None:
        self.cfg, self.progress = cfg, progress
        self.dir = cfg.run_dir  # created once the base model and data lists are read
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        base, self.base_cfg, self.base_record, self.base_sha = load_landmark_base(cfg.base)
        self.model = multitask_from(base)
        self.spec = CropSpec(self.base_cfg["model"]["input_size"], self.base_cfg["crop_margin"])
        self.scheme = get_scheme(self.base_cfg["scheme"])
        root = Path(cfg.data_root)
        self.train, self.val = split_train_val(read_image_list(root / cfg.train_list, self.scheme.name),
                                               cfg.val_fraction)
        extras = [r for name in cfg.extra_face_lists for r in read_image_list(root / name, self.scheme.name)]
        step = max(1, len(extras) // max(cfg.extra_face_limit, 1))
        self.extras = extras[::step][:cfg.extra_face_limit]
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tag = self.base_sha[:12]
        self._drop_stale_caches()

    def _drop_stale_caches(self) -> None:
        """Delete cached features of other base weights (they are large and never valid again)."""
        cache = self.dir / "cache"
        if cache.is_dir():
            for path in cache.iterdir():
                if self.tag not in path.name:
                    path.unlink()

    # ---- data -------------------------------------------------------------------------------------
    def _extractor(self) -> FeatureExtractor:
        if not hasattr(self, "_fe"):
            self._fe = FeatureExtractor(self.model, self.dir / "cache", self.tag, self.cfg.threads)
        return self._fe

    def tracking_data(self, split: str) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        records = self.train + self.extras if split == "train" else self.val
        key = cache_key(kind="tracking", split=split, sha=self.base_sha, samples=cfg.samples, seed=cfg.seed,
                        pos=cfg.positives_per_face, neg=cfg.negatives_per_positive, n=len(records),
                        spec=self.spec)
        samples = tracking_samples(records, self.spec, cfg.samples, cfg.positives_per_face,
                                   cfg.negatives_per_positive, cfg.seed + (split != "train"))
        total = len(records) * cfg.positives_per_face * (1 + cfg.negatives_per_positive)
        return build_cached(self.dir / "cache" / f"tracking_{split}_{self.tag}_{key}.pt", self._extractor(),
                            samples, total, f"tracking crops ({split})", self.progress)

    def pose_data(self, split: str) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        records = self.train if split == "train" else self.val
        views = cfg.pose_views if split == "train" else 1
        key = cache_key(kind="pose", split=split, sha=self.base_sha, augment=cfg.pose_augment, views=views,
                        focal=cfg.focal_per_side, seed=cfg.seed, n=len(records), spec=self.spec,
                        template=mean_face_3d(self.scheme.name).round(6).tolist())
        samples = pose_samples(records, self.spec, self.scheme, cfg.pose_augment, views, cfg.focal_per_side,
                               cfg.seed)
        return build_cached(self.dir / "cache" / f"pose_{split}_{self.tag}_{key}.pt", self._extractor(), samples,
                            len(records) * views, f"pose crops ({split})", self.progress)

    def save_combined(self, results: dict) -> Path:
        """``best.pt`` in the format of ``facepoints train`` checkpoints plus a ``branches`` record."""
        cfg = self.base_cfg
        model_cfg = self.model.config.to_dict()
        log = self.dir / "log.jsonl"
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
        seconds = [r["seconds"] for r in rows if r.get("base") == self.tag]
        record = self.base_record or {}
        state = {
            "model": self.model.state_dict(),
            "config": {**cfg, "model": model_cfg},
            "epoch": int(record.get("epochs_completed", 1)) - 1,
            "best": record.get("best_val_nme", float("nan")),
            "landmark_training": record,
            "branches": {
                "config": self.cfg.to_dict(), "base": self.cfg.base, "base_sha256": self.base_sha,
                "validation": {stage: results[stage] for stage in STAGES},
                "train_faces": len(self.train), "extra_faces": len(self.extras), "val_faces": len(self.val),
                "wall_minutes_epochs": round(sum(seconds) / 60, 1),   # feature caching not included
                "pose_labels": describe_labels(self.cfg.focal_per_side),
                "command": f"facepoints train-branches configs/{self.cfg.name}.yaml",
            },
        }
        path = self.dir / "best.pt"
        save_atomic(state, path)
        return path


def branch_of(model: ATPN, stage: str) -> nn.Module:
    """The branch a stage trains: ``confidence_branch`` (stage ``tracking``) or ``pose_branch``."""
    return model.confidence_branch if stage == "tracking" else model.pose_branch


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
            self._data[split] = run.tracking_data(split) if self.label == "tracking" else run.pose_data(split)
        return self._data[split]

    def schedule(self) -> Schedule:
        cfg = self.cfg
        return Schedule(cfg.tracking_epochs if self.label == "tracking" else cfg.pose_epochs, cfg.lr)

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
        steps = n // bs
        return steps, ((data["features"][idx].float(), data["labels"][idx])
                       for idx in (order[i * bs:(i + 1) * bs] for i in range(steps)))

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        features, labels = batch
        out = branch_of(model, self.label)(features)
        return face_confidence_loss(out, labels) if self.label == "tracking" else pose_loss(out, labels)

    @torch.inference_mode()
    def validate(self, model: nn.Module) -> dict:
        """Face confidence: AP and loss; pose: MAE etc. in degrees (``pose_summary``)."""
        data = self.data("val")
        branch = branch_of(model, self.label).eval()
        outs = torch.cat([branch(data["features"][i:i + 256].float()) for i in range(0, len(data["labels"]), 256)])
        labels = data["labels"]
        branch.train()
        if self.label == "tracking":
            prob = torch.softmax(outs, dim=1)[:, 1].numpy()
            return {"ap": average_precision(prob, labels.numpy() > 0.5),
                    "loss": float(face_confidence_loss(outs, labels))}
        return pose_summary(np.rad2deg(outs.numpy()), np.rad2deg(labels.numpy()))

    def score(self, metrics: dict) -> float:
        return -metrics["ap"] if self.label == "tracking" else metrics["mae"]

    def describe(self, metrics: dict) -> str:
        if self.label == "tracking":
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
    """Both stages (resuming where a run stopped), then the combined checkpoint ``best.pt``;
    returns its path."""
    run = BranchRun(cfg, progress)
    freeze_for_branches(run.model)
    results = {}
    for stage in STAGES:
        trainer = Trainer(BranchStageObjective(run, stage), progress)
        trainer.run()
        results[stage] = trainer.best_metrics
    for stage in STAGES:
        branch_of(run.model, stage).load_state_dict(load_checkpoint(cfg.run_dir / f"{stage}_best.pt")["branch"])
    return run.save_combined(results)
