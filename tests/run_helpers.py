"""A tiny training run folder for tests of the run -> model contract (packaging, user models)."""
from __future__ import annotations

from pathlib import Path

import torch

from facepoints.models import ATPN, ATPNConfig
from facepoints.registry import Checkpoint
from facepoints.training.config import TrainConfig

TINY_ATPN = {"backbone": "efficientnet_lite0", "width": 16, "embed": 32, "input_size": 64}


def tiny_atpn_run(folder: Path, name: str, epoch: int = 4, best: float = 0.05, extras: dict | None = None) -> Path:
    """``folder/name/best.pt``: a tiny ATPN checkpoint written by ``Checkpoint.save``; returns the run folder."""
    run = folder / name
    run.mkdir(parents=True)
    cfg = TrainConfig(name=name, model=ATPNConfig(**TINY_ATPN), crop_margin=1.3)
    torch.manual_seed(0)
    Checkpoint(weights=ATPN(cfg.model).state_dict(), config=cfg.to_dict(), epoch=epoch, best=best,
               extras=extras or {}).save(run / "best.pt")
    return run
