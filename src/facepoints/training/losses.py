"""Landmark losses on normalised coordinates."""
from __future__ import annotations

import torch

from ..schemes import LandmarkScheme


def interocular(target: torch.Tensor, scheme: LandmarkScheme) -> torch.Tensor:
    """(B,) inter-ocular distance of (B, N, 2) targets."""
    left, right = scheme.interocular
    return (target[:, list(left)].mean(1) - target[:, list(right)].mean(1)).norm(dim=-1).clamp_min(1e-6)


def nme_loss(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme) -> torch.Tensor:
    """Thesis eq. 3.3: point-to-point L2 error over the inter-ocular distance, batch mean."""
    err = (pred - target).norm(dim=-1).mean(dim=1)
    return (err / interocular(target, scheme)).mean()


def l1_loss(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme) -> torch.Tensor:
    """Per-coordinate L1, normalised by the inter-ocular distance."""
    err = (pred - target).abs().sum(dim=-1).mean(dim=1)
    return (err / interocular(target, scheme)).mean()


LOSSES = {"nme": nme_loss, "l1": l1_loss}


def pose_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Thesis eq. 3.7: sqrt(||P - P'||) / 3 with P, P' (B, 3) angles in radians, batch mean
    (``eps`` keeps the gradient finite at zero error)."""
    norm = ((pred - target) ** 2).sum(dim=1).add(eps).sqrt()
    return (norm.sqrt() / 3).mean()


def face_confidence_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Thesis eq. 3.5: binary cross-entropy of the softmax face probability (1 face, 0 background)."""
    return torch.nn.functional.cross_entropy(logits, labels.long())
