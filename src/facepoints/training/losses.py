"""Landmark losses on normalised coordinates: ``nme`` (thesis eq. 3.3), ``l1`` and the robust
Wing family (``wing``, ``softwing``, ``awing``), each normalised by the inter-ocular distance. Each
takes optional (B, N) per-point ``weights`` (e.g. from a teacher's sigma): a weighted mean over a
face's points instead of the plain mean."""
from __future__ import annotations

import math

import torch

from ..schemes import LandmarkScheme


def interocular(target: torch.Tensor, scheme: LandmarkScheme) -> torch.Tensor:
    """(B,) inter-ocular distance of (B, N, 2) targets."""
    left, right = scheme.interocular
    return (target[:, list(left)].mean(1) - target[:, list(right)].mean(1)).norm(dim=-1).clamp_min(1e-6)


Weights = torch.Tensor | None


def point_mean(values: torch.Tensor, weights: Weights = None) -> torch.Tensor:
    """(B,) mean of (B, N) per-point values, weighted by ``weights`` (B, N) when given."""
    if weights is None:
        return values.mean(dim=1)
    return (values * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-6)


def nme_loss(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme,
             weights: Weights = None) -> torch.Tensor:
    """Thesis eq. 3.3: point-to-point L2 error over the inter-ocular distance, batch mean."""
    err = point_mean((pred - target).norm(dim=-1), weights)
    return (err / interocular(target, scheme)).mean()


def l1_loss(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme, weights: Weights = None) -> torch.Tensor:
    """Per-coordinate L1, normalised by the inter-ocular distance."""
    err = point_mean((pred - target).abs().sum(dim=-1), weights)
    return (err / interocular(target, scheme)).mean()


def _percent_errors(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme) -> torch.Tensor:
    """(B, N, 2) absolute coordinate errors in percent of the inter-ocular distance (about a pixel
    each at the 256 px crops the Wing papers used, so their constants apply)."""
    return (pred - target).abs() * (100.0 / interocular(target, scheme)).view(-1, 1, 1)


def wing_loss(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme, weights: Weights = None,
              omega: float = 10.0, epsilon: float = 2.0) -> torch.Tensor:
    """Wing (Feng et al. 2018): log for errors under ``omega``, L1 beyond; per coordinate in % of
    the inter-ocular distance, summed per point, mean over points and faces, / 100."""
    x = _percent_errors(pred, target, scheme)
    c = omega - omega * math.log(1.0 + omega / epsilon)
    loss = torch.where(x < omega, omega * torch.log1p(x / epsilon), x - c)
    return point_mean(loss.sum(dim=-1), weights).mean() / 100.0


def softwing_loss(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme, weights: Weights = None,
                  omega1: float = 2.0, omega2: float = 20.0, epsilon: float = 0.5) -> torch.Tensor:
    """SoftWing (Lin et al. 2021): L1 under ``omega1`` (small errors keep their gradient), log
    beyond (outliers weigh less); units and reduction as ``wing_loss``."""
    x = _percent_errors(pred, target, scheme)
    b = omega1 - omega2 * math.log(1.0 + omega1 / epsilon)
    loss = torch.where(x < omega1, x, omega2 * torch.log1p(x / epsilon) + b)
    return point_mean(loss.sum(dim=-1), weights).mean() / 100.0


def awing_loss(pred: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme, weights: Weights = None,
               omega: float = 14.0, theta: float = 0.5, epsilon: float = 1.0, alpha: float = 2.1) -> torch.Tensor:
    """Adaptive Wing (Wang et al. 2019) on coordinates: a coordinate has no heatmap value y, so the
    foreground exponent ``alpha - 1`` is used; errors in units of 10 % of the inter-ocular distance
    (``theta`` 0.5: log up to 5 %, the usual error, linear beyond); sum per point, mean, / 10."""
    x = _percent_errors(pred, target, scheme) / 10.0
    power = alpha - 1.0
    ratio = (theta / epsilon) ** power
    a = omega / (1.0 + ratio) * power * (theta / epsilon) ** (power - 1.0) / epsilon
    c = theta * a - omega * math.log1p(ratio)
    loss = torch.where(x < theta, omega * torch.log1p((x / epsilon).pow(power)), a * x - c)
    return point_mean(loss.sum(dim=-1), weights).mean() / 10.0


LOSSES = {"nme": nme_loss, "l1": l1_loss, "wing": wing_loss, "softwing": softwing_loss, "awing": awing_loss}


def pose_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Thesis eq. 3.7: sqrt(||P - P'||) / 3 with P, P' (B, 3) angles in radians, batch mean
    (``eps`` keeps the gradient finite at zero error)."""
    norm = ((pred - target) ** 2).sum(dim=1).add(eps).sqrt()
    return (norm.sqrt() / 3).mean()


def face_confidence_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Thesis eq. 3.5: binary cross-entropy of the softmax face probability (1 face, 0 background)."""
    return torch.nn.functional.cross_entropy(logits, labels.long())
