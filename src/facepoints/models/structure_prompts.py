"""Face structure prompts of TUFA (thesis eq. 6.1-6.5): plane coordinates -> sin/cos vectors.

A plane point (x, y) in [-1, 1] becomes ``Concat(E^X_x, E^Y_y)``, each half holding interleaved
``sin(s x / tau^(2c / (0.5 C)))`` and ``cos(...)`` for c in [0, C/4). Shifting a point by a fixed
offset rotates every (sin, cos) pair by an angle that depends only on the offset (eq. 6.4-6.5),
so geometric relations on the plane become linear maps between prompts.

``scale`` (s) multiplies the coordinates first. ``scale = 1`` is the thesis' formula literally:
its fastest channel pair is ``sin(x)``, i.e. less than a third of a period across the whole
plane; a larger scale (e.g. ``2 * pi``) raises every frequency, the highest one to ``s`` radians
per plane unit, giving the decoder finer positional detail.
"""
from __future__ import annotations

import torch


def _inverse_wavelengths(dim: int, tau: float, scale: float, device=None, dtype=None) -> torch.Tensor:
    """(dim // 4,) factors ``s / tau^(2c / (0.5 dim))`` of channel pairs c = 0 .. dim/4 - 1."""
    if dim <= 0 or dim % 4:
        raise ValueError(f"prompt dim must be a positive multiple of 4, not {dim}")
    c = torch.arange(dim // 4, device=device, dtype=torch.float64)
    return (scale / tau ** (2 * c / (0.5 * dim))).to(dtype or torch.get_default_dtype())


def structure_prompts(coords: torch.Tensor, dim: int, tau: float = 10000.0, scale: float = 1.0) -> torch.Tensor:
    """(..., P, 2) plane coordinates -> (..., P, dim) prompts: x in the first ``dim / 2``
    channels, y in the last; channel 2c holds the sine, 2c + 1 the cosine (eq. 6.1-6.3)."""
    if coords.shape[-1] != 2:
        raise ValueError(f"coordinates must end in 2 (x, y), got shape {tuple(coords.shape)}")
    freqs = _inverse_wavelengths(dim, tau, scale, coords.device, coords.dtype)
    angles = coords.unsqueeze(-1) * freqs  # (..., P, 2, dim/4)
    pairs = torch.stack((angles.sin(), angles.cos()), dim=-1)  # (..., P, 2, dim/4, 2): sin, cos interleaved
    return pairs.flatten(-3)  # x's dim/2 channels, then y's


def prompt_shift_matrix(delta: float, dim_half: int, tau: float = 10000.0, scale: float = 1.0) -> torch.Tensor:
    """(dim_half, dim_half) block-diagonal rotation with ``E_{x + delta} = M @ E_x`` for one
    axis' half-prompt (``dim_half = dim / 2``; eq. 6.4-6.5)."""
    freqs = _inverse_wavelengths(2 * dim_half, tau, scale, dtype=torch.float64)
    angle = delta * freqs
    cos, sin = angle.cos(), angle.sin()
    blocks = torch.stack((torch.stack((cos, sin), -1), torch.stack((-sin, cos), -1)), -2)  # (dim/4, 2, 2)
    return torch.block_diag(*blocks).to(torch.get_default_dtype())
