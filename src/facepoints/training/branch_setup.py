"""What ATPN branch training (stages 2 and 3, ``branch_objective``) starts from: the frozen
landmark base with fresh pose and face-confidence branches, the data split, the cached features,
and the combined checkpoint it ends with."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..datasets.image_list import read_image_list
from ..datasets.splits import split_train_val
from ..models import ATPN, ATPNConfig
from ..pipeline.crop import CropSpec
from ..registry import create_model, get_card, sha256_of
from ..registry.checkpoint import (Checkpoint, CheckpointError, architecture_of, checkpoint_network, save_atomic,
                                   training_checkpoint)
from ..registry.packaging import landmark_training
from ..schemes import get_scheme
from .branch_config import BranchConfig
from .branch_data import FeatureExtractor, build_cached, cache_key, confidence_samples, pose_samples
from .pose_labels import describe_labels, mean_face_3d


def load_landmark_base(base: str) -> tuple[ATPN, dict, dict, str]:
    """(landmark model, its training config, its training record as a card holds it, weights
    sha256) for a registry name or a ``facepoints train`` checkpoint (its run chain, commands and
    wall time read as ``facepoints package`` reads them)."""
    if Path(base).suffix == ".pt" and Path(base).is_file():
        checkpoint = Checkpoint.load(base)
        cfg = checkpoint.config
        if architecture_of(cfg) != "atpn":
            raise CheckpointError(f"{base}: branches train on an ATPN landmark model, not {cfg['architecture']}")
        landmarks = {k: v for k, v in checkpoint.weights.items() if not _is_branch(k)}
        _, model = checkpoint_network({"config": {"model": {**cfg["model"], "pose": False, "tracking": False}},
                                       "model": landmarks}, base)
        return model.eval(), cfg, landmark_training(checkpoint, "", {}), sha256_of(base)
    card = get_card(base)
    if "config" not in card.training:
        raise ValueError(f"model {base}: its card records no training config")
    network = create_model(base)
    model = ATPN(ATPNConfig(**{**card.config, "pose": False, "tracking": False}))
    model.load_state_dict({k: v for k, v in network.state_dict().items() if not _is_branch(k)})
    record = {k: v for k, v in card.training.items() if k != "branches"}
    return model.eval(), card.training["config"], record, card.weights["torch"]["sha256"]


def base_branch(base: str, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(weights, validation record) of the branch under ``prefix`` (``pose_branch`` or
    ``confidence_branch``) of a registry model or ``facepoints train-branches`` checkpoint; a
    ``ValueError`` when ``base`` has no such branch."""
    stage = {"pose_branch": "pose", "confidence_branch": "tracking"}[prefix]
    if Path(base).suffix == ".pt" and Path(base).is_file():
        state = training_checkpoint(base)
        weights, record = state["model"], state.get("branches", {})
    else:
        weights = create_model(base).state_dict()
        record = get_card(base).training.get("branches", {})
    picked = {k[len(prefix) + 1:]: v for k, v in weights.items() if k.startswith(prefix + ".")}
    if not picked:
        raise ValueError(f"{base} has no {stage} branch to keep; add {stage} to the config's stages")
    kept = record.get("validation", {}).get(stage, {})
    trained_by = kept.get("trained_by") or record.get("command")   # where the branch was trained
    return picked, {**kept, "kept_from": base, **({"trained_by": trained_by} if trained_by else {})}


def _is_branch(key: str) -> bool:
    return key.startswith(("pose_branch.", "confidence_branch."))


def multitask_from(base: ATPN) -> ATPN:
    """A copy of ``base`` with fresh pose and face-confidence branches (config field ``tracking``)."""
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

    def confidence_data(self, split: str) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        records = self.train + self.extras if split == "train" else self.val
        key = cache_key(kind="tracking", split=split, sha=self.base_sha, samples=cfg.samples, seed=cfg.seed,
                        pos=cfg.positives_per_face, neg=cfg.negatives_per_positive, n=len(records),
                        spec=self.spec, **({"clutter": cfg.clutter_per_positive} if cfg.clutter_per_positive else {}))
        samples = confidence_samples(records, self.spec, cfg.samples, cfg.positives_per_face,
                                     cfg.negatives_per_positive, cfg.seed + (split != "train"), cfg.clutter_per_positive)
        total = len(records) * cfg.positives_per_face * (1 + cfg.negatives_per_positive + cfg.clutter_per_positive)
        return build_cached(self.dir / "cache" / f"tracking_{split}_{self.tag}_{key}.pt", self._extractor(),
                            samples, total, f"face-confidence crops ({split})", self.progress)

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
                "validation": dict(results),
                "train_faces": len(self.train), "extra_faces": len(self.extras), "val_faces": len(self.val),
                "wall_minutes_epochs": round(sum(seconds) / 60, 1),   # feature caching not included
                "pose_labels": describe_labels(self.cfg.focal_per_side),
                "command": f"facepoints train-branches configs/{self.cfg.name}.yaml",
            },
        }
        path = self.dir / "best.pt"
        save_atomic(state, path)
        return path


