"""ATPN's SimCC head (Li et al. 2022, "SimCC: a simple coordinate classification perspective"):
each point's x and y are classified over 1-D bins of ``SIMCC_SPLIT`` bins per input pixel, and
decoded inside the network to the expectation of the bins' softmax, so the network still maps
crops to (B, N, 2) coordinates in [-1, 1] (ONNX export, pipeline and branches unchanged).

The fused stride-4 and stride-16 maps are brought to stride 8 and stacked with the stride-8 map;
a 1x1 CoordConv gives one map per point; each point's flattened map goes through a shared hidden
layer, then one linear layer per axis gives the bin logits, added to a learnt per-point prior that
starts as a broad Gaussian at the point's mean-shape position (so a fresh head starts where the
regression head does: at the mean shape)."""
from __future__ import annotations

import torch
from torch import nn

from .atpn_fusion import FusedFeatures
from .layers import CoordConv

#: bins per input pixel along each axis
SIMCC_SPLIT = 2
#: the starting prior's sigma, in input pixels
PRIOR_SIGMA = 4.0


def bin_centres(bins: int, like: torch.Tensor) -> torch.Tensor:
    """(bins,) bin centres in [-1, 1] crop coordinates (-1 and 1 are the crop's outer edges)."""
    return (torch.arange(bins, device=like.device, dtype=torch.float32) + 0.5).mul(2.0 / bins).sub(1.0).to(like.dtype)


def log_gaussian_prior(mean: torch.Tensor, bins: int, sigma_bins: float) -> torch.Tensor:
    """(N, bins) logits of Gaussians at ``mean`` (N,) [-1, 1] coordinates, ``sigma_bins`` wide."""
    centres = bin_centres(bins, mean)
    return -0.5 * ((centres[None] - mean[:, None]) * (bins / 2.0) / sigma_bins) ** 2


def expectation(logits: torch.Tensor) -> torch.Tensor:
    """(..., bins) logits -> (...) the softmax's expected coordinate in [-1, 1]."""
    return torch.softmax(logits, dim=-1) @ bin_centres(logits.shape[-1], logits)


class SimCCHead(FusedFeatures):
    """Fused features -> ``(x_logits, y_logits)``, each (B, N, SIMCC_SPLIT x input_size)."""

    def __init__(self, in_channels: tuple[int, int, int], num_points: int, width: int, embed: int,
                 input_size: int, mean_shape: torch.Tensor | None = None) -> None:
        super().__init__(in_channels, width)
        grid = input_size // 8
        bins = SIMCC_SPLIT * input_size
        self.num_points = num_points
        self.down = CoordConv(width, width, 2, 2)                   # stride 4 -> 8
        self.up16 = nn.ConvTranspose2d(width, width, 2, stride=2, groups=width, bias=False)  # 16 -> 8
        self.points = CoordConv(3 * width, num_points, 1, 1, act=None)
        self.hidden = nn.Sequential(nn.Linear(grid * grid, embed), nn.ReLU(inplace=True))
        self.x_bins = nn.Linear(embed, bins)
        self.y_bins = nn.Linear(embed, bins)
        mean = torch.zeros(num_points, 2) if mean_shape is None else torch.as_tensor(mean_shape, dtype=torch.float32)
        sigma = PRIOR_SIGMA * SIMCC_SPLIT
        self.prior_x = nn.Parameter(log_gaussian_prior(mean[:, 0], bins, sigma))
        self.prior_y = nn.Parameter(log_gaussian_prior(mean[:, 1], bins, sigma))

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        m4, m8, m16 = self.fused_maps(feats)
        maps = self.points(torch.cat([self.down(m4), m8, self.up16(m16)], dim=1))   # (B, N, g, g)
        vectors = self.hidden(maps.flatten(2))                                         # (B, N, embed)
        return self.x_bins(vectors) + self.prior_x, self.y_bins(vectors) + self.prior_y
