"""ATPN pose and tracking branches (thesis ch. 3.2.2-3.2.3) and the landmark heatmap they read.

Both branches see the stride-4 (28x28) backbone features multiplied by a heatmap drawn from
the predicted landmarks (eq. 3.1-3.2), so they get the face's geometry as well as its
appearance. They are small stacks of MobileNetV3 inverted-residual blocks, each halving the
grid, then global pooling and a linear layer.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .mobilenetv3 import InvertedResidual

#: (kernel, expanded, out, use_se, activation, stride) of each branch block
BRANCH_BLOCKS = [
    (3, 72, 32, False, "relu", 2),     # 28 -> 14
    (3, 96, 48, True, "hswish", 2),    # 14 -> 7
    (3, 144, 64, True, "hswish", 2),   # 7 -> 4
]
HEATMAP_FLOOR = 0.5


def landmark_heatmap(landmarks: torch.Tensor, grid: int = 28, floor: float = HEATMAP_FLOOR) -> torch.Tensor:
    """Eq. 3.1: H(x, y) = 1 / sqrt(1 + min_i ||(x, y) - p_i||), at least ``floor``.

    ``landmarks``: (B, N, 2) in [-1, 1] crop coordinates (-1 and 1 are the crop's outer edges).
    Distances are in grid cells, measured between cell centres ``(j + 0.5) / grid`` of the crop
    side and the points. Returns (B, grid, grid) with rows indexing y.
    """
    points = (landmarks + 1.0) * (grid / 2.0) - 0.5                      # grid-cell units
    centres = torch.arange(grid, device=landmarks.device, dtype=landmarks.dtype)
    dx = centres.view(1, 1, grid, 1) - points[:, None, None, :, 0]      # (B, 1, grid, N)
    dy = centres.view(1, grid, 1, 1) - points[:, None, None, :, 1]      # (B, grid, 1, N)
    nearest = (dx * dx + dy * dy).amin(dim=-1).sqrt()                    # (B, grid, grid)
    return (1.0 + nearest).rsqrt().clamp_min(floor)


def _blocks(cin: int) -> tuple[nn.Sequential, int]:
    layers, c = [], cin
    for kernel, mid, cout, se, act, stride in BRANCH_BLOCKS:
        layers.append(InvertedResidual(c, kernel, mid, cout, se, act, stride))
        c = cout
    return nn.Sequential(*layers), c


class PoseBranch(nn.Module):
    """Heatmap-fused features -> (B, 3) yaw, pitch, roll in radians, tanh x pi (thesis 3.2.2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.blocks, c = _blocks(channels)
        self.out = nn.Linear(c, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.out(self.blocks(fused).mean(dim=(2, 3)))) * math.pi


class FaceConfidenceBranch(nn.Module):
    """Heatmap-fused features -> (B, 2) face / non-face logits; ``probability`` is the softmax's
    face share (thesis 3.2.2, the tracking branch)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.blocks, c = _blocks(channels)
        self.out = nn.Linear(c, 2)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(fused).mean(dim=(2, 3)))

    @staticmethod
    def probability(logits: torch.Tensor) -> torch.Tensor:
        """(B,) face probability from (B, 2) logits (softmax, class 1 = face)."""
        return torch.softmax(logits, dim=1)[:, 1]
