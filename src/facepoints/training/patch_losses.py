"""SLPT / DSLPT losses over every stage and inherent relation layer (thesis eq. 4.8 and 5.9)."""
from __future__ import annotations

import torch

from ..models.patches import global_to_patch, patch_to_global
from ..schemes import LandmarkScheme
from .losses import interocular


def gaussian_nll(target: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Eq. 5.8 per coordinate, without the constant log(sqrt(2 pi)): log sigma + (t - mu)^2 / (2 sigma^2)."""
    return torch.log(sigma) + (target - mu) ** 2 / (2 * sigma ** 2)


def laplace_nll(target: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Laplace negative log-likelihood per coordinate, without the constant log 2: log sigma + |t - mu| / sigma."""
    return torch.log(sigma) + (target - mu).abs() / sigma


NLL = {"gaussian": gaussian_nll, "laplace": laplace_nll}
#: power of sigma that turns each NLL's gradient with respect to mu into that of L2 / L1
SIGMA_POWER = {"gaussian": 2.0, "laplace": 1.0}


def stage_nll(stage: dict[str, torch.Tensor], target: torch.Tensor, distribution: str,
              beta: float = 0.0) -> torch.Tensor:
    """Mean NLL of one stage's layers (L, B, N, 2) against targets mapped into its patches (eq. 5.10).

    ``beta`` > 0 weights each term by the detached ``sigma ** (beta * p)`` (beta-NLL, Seitzer et
    al. 2022; p = 2 Gaussian, 1 Laplace): the optimal sigma is unchanged, but points the model is
    unsure of keep pulling mu (beta = 1: mu learns as with L2 / L1). 0 is the thesis' eq. 5.9."""
    local = global_to_patch(target, stage["centres"], stage["sizes"])
    nll = NLL[distribution](local, stage["mu"], stage["sigma"])
    if beta:
        nll = nll * stage["sigma"].detach() ** (beta * SIGMA_POWER[distribution])
    return nll.mean()


def stage_nme(stage: dict[str, torch.Tensor], target: torch.Tensor, scheme: LandmarkScheme) -> torch.Tensor:
    """Mean over layers of the inter-ocular-normalised point-to-point error of one stage (eq. 4.8)."""
    points = patch_to_global(stage["mu"], stage["centres"], stage["sizes"])
    err = (points - target).norm(dim=-1).mean(dim=-1)  # (L, B)
    return (err / interocular(target, scheme)).mean()


def patch_transformer_loss(stages: list[dict[str, torch.Tensor]], target: torch.Tensor, scheme: LandmarkScheme,
                           distribution: str, beta: float = 0.0) -> torch.Tensor:
    """Mean over stages: DSLPT's NLL (``distribution`` gaussian or laplace; ``beta`` as in
    ``stage_nll``) or SLPT's normalised L2 (``none``). Means rather than the thesis' sums keep
    the scale independent of N and L."""
    if distribution == "none":
        losses = [stage_nme(s, target, scheme) for s in stages]
    else:
        losses = [stage_nll(s, target, distribution, beta) for s in stages]
    return torch.stack(losses).mean()
