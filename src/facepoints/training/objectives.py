"""What each architecture minimises on a training batch."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..schemes import LandmarkScheme
from .config import TrainConfig
from .losses import LOSSES
from .patch_losses import patch_transformer_loss
from .tufa_objective import tufa_objective

Objective = Callable[[nn.Module, dict, LandmarkScheme, "TrainConfig"], torch.Tensor]


def atpn_objective(model: nn.Module, batch: dict, scheme: LandmarkScheme, cfg: TrainConfig) -> torch.Tensor:
    """ATPN: the configured landmark loss (``nme`` eq. 3.3, or ``l1``) on the final landmarks."""
    return LOSSES[cfg.loss](model(batch["image"]), batch["target"], scheme)


def patch_transformer_objective(model: nn.Module, batch: dict, scheme: LandmarkScheme,
                                cfg: TrainConfig) -> torch.Tensor:
    """SLPT / DSLPT: every stage and layer supervised; the loss follows the model's distribution
    (with ``cfg.nll_beta``)."""
    stages = model.forward_stages(batch["image"])
    return patch_transformer_loss(stages, batch["target"], scheme, model.config.distribution, cfg.nll_beta)


OBJECTIVES: dict[str, Objective] = {"atpn": atpn_objective, "dslpt": patch_transformer_objective,
                                    "tufa": tufa_objective}
