"""ATPN's heatmap head (integral regression, Sun et al. 2018; DSNT, Nibali et al. 2018): one
heatmap per point on the fused stride-4 grid, a softmax over the grid, and the expected cell
centre as the point, decoded inside the network (the same (B, N, 2) [-1, 1] output as the
regression head; ONNX export, pipeline and branches unchanged). Unlike SimCC's fully connected
bins, each heatmap cell is a convolution's answer to "is point k here", so the head keeps the
grid's translation equivariance. A learnt per-point prior (a broad Gaussian at the point's
mean-shape position) starts a fresh head at the mean shape, as the regression head starts."""
from __future__ import annotations

import torch
from torch import nn

from .atpn_fusion import FusedFeatures
from .atpn_simcc import bin_centres, log_gaussian_prior
from .layers import CoordConv

#: the heatmaps' stride (the fused stride-4 maps)
HEATMAP_STRIDE = 4
#: the starting prior's sigma, in input pixels
PRIOR_SIGMA = 4.0


def spatial_expectation(logits: torch.Tensor) -> torch.Tensor:
    """(B, N, g, g) logits -> (B, N, 2) expected (x, y) cell centres in [-1, 1] under the softmax."""
    b, n, g, _ = logits.shape
    prob = torch.softmax(logits.flatten(2), dim=-1).view(b, n, g, g)
    centres = bin_centres(g, logits)
    return torch.stack([prob.sum(dim=2) @ centres, prob.sum(dim=3) @ centres], dim=-1)


class HeatmapHead(FusedFeatures):
    """Fused features -> (B, N, g, g) heatmap logits on the stride-4 grid (g = input_size / 4)."""

    def __init__(self, in_channels: tuple[int, int, int], num_points: int, width: int, input_size: int,
                 mean_shape: torch.Tensor | None = None) -> None:
        super().__init__(in_channels, width)
        grid = input_size // HEATMAP_STRIDE
        self.points = CoordConv(width, num_points, 1, 1, act=None)
        mean = torch.zeros(num_points, 2) if mean_shape is None else torch.as_tensor(mean_shape, dtype=torch.float32)
        sigma = PRIOR_SIGMA / HEATMAP_STRIDE
        rows, columns = log_gaussian_prior(mean[:, 1], grid, sigma), log_gaussian_prior(mean[:, 0], grid, sigma)
        self.prior = nn.Parameter(rows[:, :, None] + columns[:, None, :])  # (N, g rows = y, g columns = x)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        m4 = self.fused_maps(feats)[0]
        return self.points(m4) + self.prior
