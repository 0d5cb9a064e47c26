"""ATPN stages 2 and 3: train the face-confidence and pose branches on a frozen landmark network.

Writes into ``cfg.run_dir``: ``<stage>_last.pt`` after every epoch (a rerun resumes there),
``<stage>_best.pt`` (best validation epoch: highest AP / lowest pose MAE), ``log.jsonl``, and
``best.pt``, the combined checkpoint (landmark weights + both best branches) that
``facepoints package`` ships.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

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
from .pose_labels import describe_labels, mean_face_3d
from .trainer import lr_at

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


class BranchTrainer:
    """Runs ``cfg``: builds (or loads) the feature caches, trains each branch, writes ``best.pt``."""

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
        (self.dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1, default=str))
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

    # ---- training ---------------------------------------------------------------------------------
    def branch(self, stage: str) -> nn.Module:
        return self.model.confidence_branch if stage == "tracking" else self.model.pose_branch

    def loss(self, stage: str, fused: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out = self.branch(stage)(fused)
        return face_confidence_loss(out, labels) if stage == "tracking" else pose_loss(out, labels)

    @torch.inference_mode()
    def validate(self, stage: str, data: dict[str, torch.Tensor]) -> dict:
        """Tracking: AP and loss; pose: MAE etc. in degrees (``pose_summary``)."""
        branch = self.branch(stage).eval()
        outs = torch.cat([branch(data["features"][i:i + 256].float()) for i in range(0, len(data["labels"]), 256)])
        labels = data["labels"]
        branch.train()
        if stage == "tracking":
            prob = torch.softmax(outs, dim=1)[:, 1].numpy()
            return {"ap": average_precision(prob, labels.numpy() > 0.5),
                    "loss": float(face_confidence_loss(outs, labels))}
        return pose_summary(np.rad2deg(outs.numpy()), np.rad2deg(labels.numpy()))

    @staticmethod
    def score(stage: str, metrics: dict) -> float:
        """Lower is better."""
        return -metrics["ap"] if stage == "tracking" else metrics["mae"]

    def run_stage(self, stage: str) -> dict:
        """Train one branch to its epoch count (resuming from ``<stage>_last.pt``); returns its best
        validation metrics."""
        cfg = self.cfg
        epochs = cfg.tracking_epochs if stage == "tracking" else cfg.pose_epochs
        branch = self.branch(stage)
        params = [p for p in branch.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        start, best, best_metrics = 0, float("inf"), {}
        last = self.dir / f"{stage}_last.pt"
        if last.is_file():
            state = load_checkpoint(last)
            if state.get("base_sha") == self.base_sha:
                try:
                    branch.load_state_dict(state["branch"])
                    optimizer.load_state_dict(state["optimizer"])
                    start, best = int(state["epoch"]) + 1, float(state["best"])
                    best_metrics = dict(state["best_metrics"])
                except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
                    reason = " ".join(str(exc).split())[:160]
                    raise CheckpointError(f"{last}: cannot resume this stage from it ({reason}); delete it to train "
                                          "the stage afresh") from None
                print(f"{stage}: resumed at epoch {start} (best {best_metrics})")
            else:
                print(f"{stage}: {last} belongs to other base weights; training from scratch")
        if start >= epochs:
            return best_metrics
        data = self.tracking_data("train") if stage == "tracking" else self.pose_data("train")
        val = self.tracking_data("val") if stage == "tracking" else self.pose_data("val")
        n, bs = len(data["labels"]), cfg.batch_size
        steps = n // bs
        for epoch in range(start, epochs):
            t0 = time.time()
            order = torch.from_numpy(np.random.default_rng([cfg.seed, 7, epoch]).permutation(n))
            losses = []
            bar = tqdm(range(steps), desc=f"{stage} epoch {epoch + 1}/{epochs}", leave=False,
                       disable=not self.progress)
            for i in bar:
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(epoch * steps + i, epochs * steps, 0, cfg.lr)
                idx = order[i * bs:(i + 1) * bs]
                loss = self.loss(stage, data["features"][idx].float(), data["labels"][idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
            metrics = self.validate(stage, val)
            improved = self.score(stage, metrics) < best
            if improved:
                best, best_metrics = self.score(stage, metrics), {**metrics, "epoch": epoch + 1}
                save_atomic({"branch": branch.state_dict(), "metrics": best_metrics}, self.dir / f"{stage}_best.pt")
            save_atomic({"branch": branch.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                         "best": best, "best_metrics": best_metrics, "base_sha": self.base_sha}, last)
            row = {"stage": stage, "epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val": metrics,
                   "seconds": round(time.time() - t0, 1), "samples": n, "base": self.tag}
            with open(self.dir / "log.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            shown = f"AP {100 * metrics['ap']:.2f} %" if stage == "tracking" else \
                f"MAE {metrics['mae']:.2f} deg, FR@10 {100 * metrics['fr_10']:.2f} %"
            print(f"{stage} epoch {epoch + 1}/{epochs} loss {row['train_loss']:.4f} val {shown}"
                  f"{' *' if improved else ''} ({row['seconds']} s)", flush=True)
        return best_metrics

    def run(self) -> Path:
        """Both stages, then the combined checkpoint ``best.pt``; returns its path."""
        freeze_for_branches(self.model)
        results = {stage: self.run_stage(stage) for stage in STAGES}
        for stage in STAGES:
            self.branch(stage).load_state_dict(load_checkpoint(self.dir / f"{stage}_best.pt")["branch"])
        return self.save_combined(results)

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
