"""TUFA's objective: eq. 6.12 L1 on randomly masked anchors (thesis ch. 6.2.1, 6.2.3), one
alignment set per source, withheld points (``tufa_setup``).

Per batch, every sample gets ``round(keep_fraction * M)`` random anchors of its source's
alignment set, M = the points not withheld (``masked_anchor_batch``); the decoder maps them and
every layer's output is compared with the labels at the same indices (intermediate supervision,
as the shared MLP reads every layer). Labels that are NaN (unlabelled, or hidden by ``withhold``
and moved by a flip) drop out of the mean. The masks come from a generator seeded by
``cfg.seed`` and the batch's sampler keys, so a resumed run draws the same masks.
Validation uses ``model(images)``: all default anchors, no masking, withheld points left out.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..models.tufa import masked_anchor_batch
from .config import TrainConfig
from .landmark_objective import LandmarkObjective
from .tufa_setup import build_tufa, kept_points, prepare_config, source_schemes


def batch_generator(seed: int, keys: torch.Tensor) -> torch.Generator:
    """A generator seeded by ``seed`` and a batch's sampler keys (unique per epoch and face)."""
    draw = np.random.default_rng([int(seed), *(int(k) for k in keys.reshape(-1).tolist())]).integers(2 ** 62)
    return torch.Generator().manual_seed(int(draw))


def anchor_l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 6.12: mean over samples and anchors (and layers) of |dx| + |dy| between (..., B, K, 2)
    predictions and (B, K, 2) targets in normalised crop coordinates; NaN targets are skipped."""
    valid = torch.isfinite(target).all(dim=-1)
    err = (pred - target.nan_to_num(0.0)).abs().sum(dim=-1) * valid
    count = valid.sum() * (err.numel() // valid.numel())
    return err.sum() / count.clamp_min(1)


class TufaObjective(LandmarkObjective):
    """TUFA on a ``TrainConfig``: ``prepare_config`` names the default alignment set after the first
    source, the network has one alignment set per source (``build_tufa``), the loss is masked
    anchors of each sample's source (no withheld point), eq. 6.12 over every layer."""

    @classmethod
    def prepare_config(cls, cfg: TrainConfig) -> TrainConfig:
        return prepare_config(cfg)

    @classmethod
    def build_network(cls, cfg: TrainConfig) -> nn.Module:
        return build_tufa(cfg)

    @property
    def val_points(self) -> list[int] | None:
        cfg = self.cfg
        return kept_points(self.scheme.num_points, cfg.withhold) if cfg.withhold else None

    def loss(self, model: nn.Module, batch: dict) -> torch.Tensor:
        cfg = self.cfg
        schemes = source_schemes(cfg)
        names = [schemes[int(s)] for s in batch["source"]]
        kept = kept_points(self.scheme.num_points, cfg.withhold)
        anchors, idx = masked_anchor_batch(model, names, generator=batch_generator(cfg.seed, batch["key"]),
                                           allowed={name: kept for name in names})
        target = batch["target"].gather(1, idx.unsqueeze(-1).expand(-1, -1, 2))
        return anchor_l1_loss(model.forward_points(batch["image"], anchors, all_layers=True), target)
