"""Image encoders for TUFA: normalised images -> tokens F (B, L, C) and positional embeddings P (1, L, C).

P is learnable, added to the tokens inside the encoder (as in ViT) and also returned, so the
decoder reuses it in the keys of its cross-attention (thesis eq. 6.9: K = F + P, V = F).

* ``ViTEncoder``: a pre-LN ViT without class token (presets ``vit_s16`` / ``vit_s8``: ViT-S,
  trained from scratch here; no pretrained weights are available offline).
* ``CNNTokenEncoder``: a registry backbone's coarsest map (stride 16 for EfficientNet-Lite0) as
  tokens (``cnn_lite0``), or that map upsampled and added to the next finer one, FPN-style
  (``cnn_lite0_s8``: stride 8, four times the tokens, finer localisation); ``.backbone`` can load
  ImageNet weights.

``build_token_encoder`` builds either by name. A ViT preset keeps its own width (384) and a
final linear layer maps it to the requested ``dim`` (F through the full layer, P through its
weight only, so F' + P' = W (F + P) + b); a CNN encoder's 1x1 projection gives ``dim`` directly.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import build_backbone

VIT_PRESETS: dict[str, dict[str, int]] = {
    "vit_s16": dict(patch=16, dim=384, depth=12, heads=6),
    "vit_s8": dict(patch=8, dim=384, depth=12, heads=6),
}
#: name -> (backbone, finer levels fused into the coarsest map's tokens)
CNN_PRESETS: dict[str, tuple[str, tuple[int, ...]]] = {"cnn_lite0": ("efficientnet_lite0", ()),
                                                       "cnn_lite0_s8": ("efficientnet_lite0", (-2,))}


class ViTEncoder(nn.Module):
    """Conv patch embedding + learnable positions, ``depth`` pre-LN transformer blocks, final
    LayerNorm; ``out_dim`` (default ``dim``) adds a linear projection when it differs."""

    def __init__(self, image_size: int, patch: int, dim: int, depth: int, heads: int, mlp_ratio: int = 4,
                 dropout: float = 0.0, out_dim: int | None = None) -> None:
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image size {image_size} is not a multiple of the patch size {patch}")
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.randn(1, (image_size // patch) ** 2, dim) * 0.02)
        self.blocks = nn.Sequential(*[
            nn.TransformerEncoderLayer(dim, heads, mlp_ratio * dim, dropout, activation="gelu", batch_first=True,
                                       norm_first=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        out_dim = out_dim or dim
        self.proj = nn.Linear(dim, out_dim) if out_dim != dim else None
        self.dim = out_dim

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) normalised images -> tokens (B, L, out_dim), positions (1, L, out_dim)."""
        tokens = self.norm(self.blocks(self.patch_embed(images).flatten(2).transpose(1, 2) + self.pos_embed))
        if self.proj is None:
            return tokens, self.pos_embed
        return self.proj(tokens), self.pos_embed @ self.proj.weight.T


class CNNTokenEncoder(nn.Module):
    """A registry backbone's coarsest map -> 1x1 conv to ``dim``; each of the ``finer`` levels
    (e.g. ``(-2,)``) adds its own 1x1 projection to the upsampled sum (FPN-style top-down), and
    the finest of them sets the token grid. Then LayerNorm over channels -> tokens, plus
    learnable positional embeddings."""

    def __init__(self, backbone_name: str = "efficientnet_lite0", image_size: int = 128, dim: int = 256,
                 finer: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.backbone = build_backbone(backbone_name)
        self.finer = tuple(sorted(finer, reverse=True))  # coarse to fine, e.g. (-2, -3)
        finest = self.finer[-1] if self.finer else -1
        side = math.ceil(image_size / self.backbone.strides[finest])
        self.proj = nn.Conv2d(self.backbone.channels[-1], dim, 1)
        self.lateral = nn.ModuleList(nn.Conv2d(self.backbone.channels[level], dim, 1) for level in self.finer)
        self.norm = nn.LayerNorm(dim)
        self.pos_embed = nn.Parameter(torch.randn(1, side * side, dim) * 0.02)
        self.dim = dim

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) normalised images -> tokens (B, L, dim), positions (1, L, dim)."""
        tokens, positions, _ = self.tokens_and_maps(images)
        return tokens, positions

    def tokens_and_maps(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """As ``forward``, plus the backbone's feature maps, finest first (local refinement)."""
        maps = list(self.backbone(images))
        x = self.proj(maps[-1])
        for level, lateral in zip(self.finer, self.lateral):
            fine = lateral(maps[level])
            x = fine + F.interpolate(x, size=fine.shape[-2:], mode="bilinear", align_corners=False)
        tokens = self.norm(x.flatten(2).transpose(1, 2))
        if tokens.shape[1] != self.pos_embed.shape[1]:
            raise ValueError(f"{tokens.shape[1]} tokens for {self.pos_embed.shape[1]} positions: "
                             "the input size differs from the one the encoder was built for")
        return tokens + self.pos_embed, self.pos_embed, maps


def build_token_encoder(name: str, image_size: int, dim: int) -> nn.Module:
    """``vit_s16``, ``vit_s8`` (preset width, projected to ``dim``), ``cnn_lite0`` or ``cnn_lite0_s8``."""
    if name in VIT_PRESETS:
        return ViTEncoder(image_size, **VIT_PRESETS[name], out_dim=dim)
    if name in CNN_PRESETS:
        backbone, finer = CNN_PRESETS[name]
        return CNNTokenEncoder(backbone, image_size, dim, finer)
    known = ", ".join([*VIT_PRESETS, *CNN_PRESETS])
    raise KeyError(f"unknown token encoder {name!r}; known: {known}")
