"""ATPN's feature fusion (thesis ch. 3.2.1), shared by its output heads: top-down FPN fusion of
the backbone's stride 4, 8 and 16 maps (1x1 conv + depthwise deconv), then a multiview block per
level. The attribute names (``lateral``, ``up``, ``multiview``) are those of the shipped weights,
so every head can start from a trained regression model's fusion."""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct


class MultiviewBlock(nn.Module):
    """Three parallel depthwise-separable convs with growing receptive fields (dilation 1, 2, 3),
    concatenated, projected back and added to the input (the residual keeps low-level features)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        branch = channels // 2
        self.branches = nn.ModuleList([
            nn.Sequential(ConvBNAct(channels, channels, 3, groups=channels, dilation=d),
                          ConvBNAct(channels, branch, 1))
            for d in (1, 2, 3)])
        self.project = ConvBNAct(3 * branch, channels, 1, act=None)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([b(x) for b in self.branches], dim=1)
        return self.act(x + self.project(y))


class FusedFeatures(nn.Module):
    """The fusion part of an ATPN head; ``fused_maps`` gives the multiview maps at strides 4, 8, 16."""

    def __init__(self, in_channels: tuple[int, int, int], width: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList([ConvBNAct(c, width, 1) for c in in_channels])
        self.up = nn.ModuleList([nn.ConvTranspose2d(width, width, 2, stride=2, groups=width, bias=False)
                                 for _ in range(2)])
        self.multiview = nn.ModuleList([MultiviewBlock(width) for _ in in_channels])

    def fuse(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """Top-down FPN fusion; returns fused maps at strides 4, 8, 16."""
        p16 = self.lateral[2](feats[2])
        p8 = self.lateral[1](feats[1]) + self.up[1](p16)
        p4 = self.lateral[0](feats[0]) + self.up[0](p8)
        return [p4, p8, p16]

    def fused_maps(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """The multiview blocks on the fused maps (strides 4, 8, 16)."""
        return [mv(p) for mv, p in zip(self.multiview, self.fuse(feats))]
