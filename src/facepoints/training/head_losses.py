"""The landmark loss of a network's head outputs: the configured coordinate loss (``losses.LOSSES``)
on the decoded landmarks, plus, for a SimCC head, the KL divergence of its 1-D bin distributions
from Gaussian targets (Li et al. 2022, label smoothing by a Gaussian of ``sigma`` pixels), or for a
heatmap head that of its heatmaps from 2-D Gaussian targets (as DSNT's regulariser)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.atpn_heatmap import HEATMAP_STRIDE
from ..models.atpn_simcc import SIMCC_SPLIT
from ..schemes import LandmarkScheme
from .losses import LOSSES, Weights, point_mean


def gaussian_bins(coords: torch.Tensor, bins: int, sigma_bins: float) -> torch.Tensor:
    """(..., bins) normalised 1-D Gaussians centred on ``coords`` ([-1, 1] crop coordinates; points
    outside the crop are clamped to its edge bins)."""
    centre = ((coords + 1.0) * (bins / 2.0) - 0.5).clamp(-0.5, bins - 0.5)
    index = torch.arange(bins, device=coords.device, dtype=coords.dtype)
    weights = torch.exp(-0.5 * ((index - centre.unsqueeze(-1)) / sigma_bins) ** 2)
    return weights / weights.sum(dim=-1, keepdim=True).clamp_min(1e-12)


def simcc_loss(x_logits: torch.Tensor, y_logits: torch.Tensor, target: torch.Tensor, sigma_px: float,
               weights: Weights = None) -> torch.Tensor:
    """KL(target || softmax) per axis and point, summed over the two axes, (weighted) mean over
    points, mean over faces."""
    total = 0.0
    for axis, logits in enumerate((x_logits, y_logits)):
        labels = gaussian_bins(target[..., axis], logits.shape[-1], sigma_px * SIMCC_SPLIT)
        kl = F.kl_div(F.log_softmax(logits, dim=-1), labels, reduction="none").sum(dim=-1)
        total = total + point_mean(kl, weights).mean()
    return total


def heatmap_loss(heatmaps: torch.Tensor, target: torch.Tensor, sigma_px: float,
                 weights: Weights = None) -> torch.Tensor:
    """KL(2-D Gaussian target || softmax over the grid) per point, (weighted) mean over points and faces."""
    grid = heatmaps.shape[-1]
    sigma = sigma_px / HEATMAP_STRIDE
    rows, columns = gaussian_bins(target[..., 1], grid, sigma), gaussian_bins(target[..., 0], grid, sigma)
    labels = rows[..., :, None] * columns[..., None, :]
    kl = F.kl_div(F.log_softmax(heatmaps.flatten(2), dim=-1), labels.flatten(2), reduction="none").sum(dim=-1)
    return point_mean(kl, weights).mean()


def landmark_loss(model: nn.Module, images: torch.Tensor, target: torch.Tensor, scheme: LandmarkScheme,
                  loss: str = "nme", simcc_sigma: float = 1.5, simcc_weight: float = 1.0,
                  weights: Weights = None, heatmap_sigma: float = 4.0, heatmap_weight: float = 1.0) -> torch.Tensor:
    """``loss`` (a ``LOSSES`` name) on ``model``'s landmarks, plus ``simcc_weight`` x the SimCC KL
    when its head gives bin logits, or ``heatmap_weight`` x the heatmap KL when it gives heatmaps
    (``forward_train``; a plain network: ``model(images)``); all with the (B, N) per-point
    ``weights`` when given."""
    out = model.forward_train(images) if hasattr(model, "forward_train") else {"landmarks": model(images)}
    value = LOSSES[loss](out["landmarks"], target, scheme, weights)
    if "simcc_x" in out:
        value = value + simcc_weight * simcc_loss(out["simcc_x"], out["simcc_y"], target, simcc_sigma, weights)
    if "heatmaps" in out:
        value = value + heatmap_weight * heatmap_loss(out["heatmaps"], target, heatmap_sigma, weights)
    return value
