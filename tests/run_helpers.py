"""Tiny training checkpoints for tests of the run -> model contract (packaging, user models, ONNX)."""
from __future__ import annotations

from pathlib import Path

import torch

from facepoints.models import ATPN, TUFA, ATPNConfig, TUFAConfig
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


def tiny_tufa_checkpoint(folder: Path, config: TUFAConfig) -> Path:
    """``folder/tiny.pt``: a tiny TUFA with two landmark sets (``ibug68``'s default and ``ytf68``) and
    trained-looking (non-zero) alignment offsets and head."""
    from facepoints.schemes import get_scheme

    mean = get_scheme("ibug68").mean_shape
    torch.manual_seed(0)
    network = TUFA(config, mean)
    network.add_scheme("ytf68", mean)
    with torch.no_grad():
        for offsets in network.alignment.values():
            offsets.normal_(0, 0.03)
        network.head[-1].weight.normal_(0, 0.05)
    path = folder / "tiny.pt"
    torch.save({"config": {"architecture": "tufa", "model": config.to_dict(), "scheme": "ibug68",
                           "crop_margin": 1.25}, "model": network.state_dict()}, path)
    return path
