"""Local patches on feature maps for SLPT / DSLPT (thesis eq. 4.7, 5.5-5.6, 5.10 and the dynamic
patch-size rule of ch. 5.2.2).

All positions are in normalised crop coordinates: [-1, 1] spans the input crop edge to edge, so
the same numbers address every level of a multi-level backbone (``grid_sample`` with
``align_corners=False``). A patch is square, given by its centre (B, N, 2) and side (B, N) in
those units; patch coordinates put (0, 0) at its top-left corner and (1, 1) at its bottom-right.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def patch_offsets(k: int, like: torch.Tensor) -> torch.Tensor:
    """(k,) sample positions across a patch of side 1 centred on 0: the centres of k equal cells."""
    return (torch.arange(k, dtype=like.dtype, device=like.device) + 0.5) / k - 0.5


def sample_patches(feature: torch.Tensor, centres: torch.Tensor, sizes: torch.Tensor, k: int) -> torch.Tensor:
    """Bilinear K x K samples of each patch: (B, C, H, W) map, (B, N, 2) centres, (B, N) sides ->
    (B, N, C, K, K). Samples sit at the centres of the K x K cells of the patch; outside the map
    they read zeros."""
    b, n, _ = centres.shape
    offsets = patch_offsets(k, centres)
    span = sizes.unsqueeze(-1) * offsets  # (B, N, K)
    xs = (centres[..., 0:1] + span).unsqueeze(2).expand(b, n, k, k)  # varies along the last axis
    ys = (centres[..., 1:2] + span).unsqueeze(3).expand(b, n, k, k)  # varies along rows
    grid = torch.stack([xs, ys], dim=-1).reshape(b, n * k, k, 2)
    out = F.grid_sample(feature, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.view(b, feature.shape[1], n, k, k).permute(0, 2, 1, 3, 4)


def top_left(centres: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) top-left corners of the patches."""
    return centres - sizes.unsqueeze(-1) / 2


def patch_to_global(mu: torch.Tensor, centres: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Eq. 5.5: patch coordinates (..., B, N, 2) -> normalised crop coordinates."""
    return top_left(centres, sizes) + sizes.unsqueeze(-1) * mu


def global_to_patch(points: torch.Tensor, centres: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Eq. 5.10: normalised crop coordinates (B, N, 2) -> patch coordinates."""
    return (points - top_left(centres, sizes)) / sizes.unsqueeze(-1)


def sigma_to_global(sigma: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Eq. 5.6: per-axis spread in patch units (..., B, N, 2) -> normalised crop units."""
    return sizes.unsqueeze(-1) * sigma


def next_patch_sizes(sizes: torch.Tensor, sigma: torch.Tensor | None, context: float = 2.0,
                     clamp: tuple[float, float] = (0.5, 0.7)) -> torch.Tensor:
    """Side of the next stage's patches.

    With ``sigma`` (B, N, 2) in patch units (DSLPT): ``max(6 Z W sigma_x, 6 Z H sigma_y)`` with Z =
    ``context``, clamped to ``clamp`` x the current side. Without (SLPT): half the current side.
    """
    if sigma is None:
        return sizes / 2
    low, high = clamp
    ratio = 6 * context * sigma.amax(dim=-1)
    return sizes * ratio.clamp(low, high)
