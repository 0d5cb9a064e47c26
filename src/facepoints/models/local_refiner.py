"""Local coarse-to-fine refinement for prompted landmarks (SLPT's idea, thesis ch. 4, applied to
TUFA's output).

TUFA's decoder reads a coarse token grid (8 x 8 at 128 px, stride 16), which limits how
precisely it can place a point. The refiner re-centres a K x K patch on each predicted point,
samples finer backbone maps there (strides 4 and 8), embeds the patch into the point's state,
runs decoder layers (self-attention among the prompted points, cross-attention into the image
tokens) and predicts an offset in units of the patch side. Stages share their weights; each
halves the patch side. It works on any set of prompted points, so zero-shot prompting keeps
working.
"""
from __future__ import annotations

import torch
from torch import nn

from .inherent_relation import InherentRelationLayer
from .patches import sample_patches


class LocalRefiner(nn.Module):
    """Map levels ``channels`` (e.g. Lite0 strides 4 and 8: 24, 40) -> per stage (B, P, 2) points."""

    def __init__(self, channels: tuple[int, ...], dim: int, heads: int, layers: int = 2, grid: int = 7,
                 patch: float = 0.25, stages: int = 1, reduced: int = 32, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.grid, self.patch, self.stages = grid, patch, stages
        self.lateral = nn.ModuleList(nn.Conv2d(c, reduced, 1) for c in channels)
        self.embed = nn.Sequential(nn.Linear(len(channels) * reduced * grid * grid, dim), nn.LayerNorm(dim))
        self.layers = nn.ModuleList(InherentRelationLayer(dim, heads, mlp_ratio) for _ in range(layers))
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, 2))
        nn.init.normal_(self.head[-1].weight, std=1e-3)  # start where the decoder left the point
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, maps: list[torch.Tensor], points: torch.Tensor, state: torch.Tensor, prompts: torch.Tensor,
                tokens: torch.Tensor, positions: torch.Tensor, stages: int | None = None) -> list[torch.Tensor]:
        """``maps``: the finer feature maps (B, C_i, H_i, W_i); ``points`` (B, P, 2) in normalised
        crop coordinates; ``state`` and ``prompts`` (B, P, d) from the decoder; ``tokens`` and
        ``positions`` the image tokens. Returns each stage's refined points (``stages`` of them,
        default all)."""
        reduced = [lateral(m) for lateral, m in zip(self.lateral, maps)]
        b, p, _ = points.shape
        side = self.patch
        outputs = []
        for _ in range(self.stages if stages is None else stages):
            centres = points.detach()
            sizes = centres.new_full((b, p), side)
            patches = torch.cat([sample_patches(m, centres, sizes, self.grid) for m in reduced], dim=2)
            x = state + self.embed(patches.flatten(2))
            for layer in self.layers:
                x = layer(x, prompts, tokens, positions)
            points = centres + side * self.head(x)
            outputs.append(points)
            side = side / 2
        return outputs
