"""Inherent relation layers of SLPT / DSLPT (thesis eq. 4.1-4.4 / 5.1-5.4).

Each layer is pre-LayerNorm: multi-head self-attention among the landmark queries (the learnable
queries added to queries and keys), multi-head cross-attention from the queries to the landmark
representations (structure encodings added to the keys), then an MLP. The state entering the
first layer is zero.
"""
from __future__ import annotations

import torch
from torch import nn


class InherentRelationLayer(nn.Module):
    """MSA (query-query), MCA (representation-query) and MLP blocks, each after a LayerNorm."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_cross = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mlp_ratio * dim, dim), nn.Dropout(dropout))

    def forward(self, state: torch.Tensor, queries: torch.Tensor, representations: torch.Tensor,
                structure: torch.Tensor) -> torch.Tensor:
        """(B, N, d) state, (1, N, d) queries, (B, N, d) representations, (1, N, d) structure encodings."""
        x = self.norm_self(state)
        qk = x + queries
        state = state + self.self_attn(qk, qk, x, need_weights=False)[0]
        x = self.norm_cross(state)
        state = state + self.cross_attn(x + queries, representations + structure, representations,
                                        need_weights=False)[0]
        return state + self.mlp(self.norm_mlp(state))


class InherentRelationDecoder(nn.Module):
    """A stack of inherent relation layers with learnable landmark queries and structure encodings;
    returns every layer's output (for the shared prediction head and intermediate supervision)."""

    def __init__(self, num_points: int, dim: int, heads: int, layers: int, mlp_ratio: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(1, num_points, dim) * 0.02)
        self.structure = nn.Parameter(torch.randn(1, num_points, dim) * 0.02)
        self.layers = nn.ModuleList([InherentRelationLayer(dim, heads, mlp_ratio, dropout) for _ in range(layers)])

    def forward(self, representations: torch.Tensor) -> list[torch.Tensor]:
        """(B, N, d) landmark representations -> list of (B, N, d), one per layer."""
        state = torch.zeros_like(representations)
        outputs = []
        for layer in self.layers:
            state = layer(state, self.queries, representations, self.structure)
            outputs.append(state)
        return outputs
