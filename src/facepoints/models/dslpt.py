"""SLPT / DSLPT: sparse local patch transformers (thesis ch. 4 and 5), one implementation.

A backbone gives multi-level feature maps, each reduced by a 1x1 conv and sampled as a K x K
patch around every landmark (fig. 4.4: the levels' patches are concatenated); a K x K projection
embeds each patch into a landmark representation; inherent relation layers turn learnable
landmark queries into per-layer predictions through a shared head. Starting from the mean shape
with patches of ``initial_patch`` x the crop side, each stage re-centres the patches on the
previous stage's landmarks and resizes them:

* DSLPT (``distribution`` "gaussian" or "laplace", ``patch_rule`` "dynamic"): the head predicts
  (mu, sigma) per axis in patch coordinates; the next side is ``max(6 Z W sigma)`` clamped to
  ``patch_clamp`` x the current side.
* SLPT (``distribution`` "none", ``patch_rule`` "halving"): the head predicts mu only and each
  stage halves the side.

Outputs are normalised crop coordinates ([-1, 1]); ``sigma`` is the per-axis spread in the same
units (eq. 5.6). The weights are shared by all stages, so ``inference_stages`` (1 to
``stages``) trades time for accuracy without retraining.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .backbones import build_backbone
from .capabilities import Capabilities, capabilities
from .inherent_relation import InherentRelationDecoder
from .patches import next_patch_sizes, patch_to_global, sample_patches, sigma_to_global
from .spread import MEAN_RADIUS_PER_SPREAD, UNIT_SPREAD_VARIANCE  # noqa: F401 - re-exported

DISTRIBUTIONS = ("gaussian", "laplace", "none")
PATCH_RULES = ("dynamic", "halving")
MIN_SIGMA = 1e-3  # patch units


@dataclass(frozen=True)
class DSLPTConfig:
    """Architecture hyper-parameters (stored in model cards). Defaults: DSLPT as in the thesis
    (K = 7, 6 layers, 3 stages, Z = 2, clamp [0.5, 0.7]) with a smaller width for CPUs."""

    num_points: int = 68
    input_size: int = 128
    backbone: str = "efficientnet_lite0"
    dim: int = 128
    heads: int = 4
    layers: int = 6
    mlp_ratio: int = 4
    patch_grid: int = 7
    stages: int = 3
    initial_patch: float = 0.25
    distribution: str = "gaussian"
    patch_rule: str = "dynamic"
    patch_context: float = 2.0
    patch_clamp: tuple[float, float] = (0.5, 0.7)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, not {self.distribution!r}")
        if self.patch_rule not in PATCH_RULES:
            raise ValueError(f"patch_rule must be one of {PATCH_RULES}, not {self.patch_rule!r}")
        if self.patch_rule == "dynamic" and self.distribution == "none":
            raise ValueError("the dynamic patch rule needs a distribution (gaussian or laplace)")
        object.__setattr__(self, "patch_clamp", tuple(self.patch_clamp))

    @property
    def coarse_to_fine_stages(self) -> int:
        """Stages run by default (``set_inference_stages`` picks 1 to this)."""
        return self.stages

    @property
    def predicts_sigma(self) -> bool:
        return self.distribution != "none"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["patch_clamp"] = list(self.patch_clamp)
        return out


class PredictionHead(nn.Module):
    """LayerNorm + MLP shared by every layer and stage: (..., d) -> mu (..., 2) in patch
    coordinates (0.5 = patch centre) and sigma (..., 2) > 0 in patch units."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, 4))
        last = self.mlp[-1]
        nn.init.normal_(last.weight, std=1e-3)  # near the patch centre with sigma ~ 0.1 patch
        with torch.no_grad():
            last.bias.copy_(torch.tensor([0.0, 0.0, -2.25, -2.25]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.mlp(x)
        return 0.5 + out[..., :2], F.softplus(out[..., 2:]) + MIN_SIGMA


class PatchEmbedding(nn.Module):
    """Per level a 1x1 conv to ``dim // levels`` channels; K x K patches of all levels
    concatenated and projected to ``dim`` (a K x K convolution over a K x K patch)."""

    def __init__(self, channels: tuple[int, ...], dim: int, k: int) -> None:
        super().__init__()
        per_level = dim // len(channels)
        self.reduce = nn.ModuleList([nn.Conv2d(c, per_level, 1) for c in channels])
        self.project = nn.Linear(per_level * len(channels) * k * k, dim)
        self.norm = nn.LayerNorm(dim)
        self.k = k

    def reduced(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        return [conv(f) for conv, f in zip(self.reduce, feats)]

    def forward(self, maps: list[torch.Tensor], centres: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """Reduced maps, (B, N, 2) centres, (B, N) sides -> (B, N, dim) landmark representations."""
        patches = torch.cat([sample_patches(m, centres, sizes, self.k) for m in maps], dim=2)
        return self.norm(self.project(patches.flatten(2)))


class DSLPT(nn.Module):
    """(B, 3, S, S) RGB 0-255 -> (B, N, 2) landmarks in [-1, 1] crop coordinates (``forward``);
    ``forward_multitask`` adds ``sigma`` (B, N, 2); ``forward_stages`` gives everything training
    needs."""

    def __init__(self, config: DSLPTConfig, mean_shape: np.ndarray | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config.backbone)
        self.embedding = PatchEmbedding(tuple(self.backbone.channels), config.dim, config.patch_grid)
        self.decoder = InherentRelationDecoder(config.num_points, config.dim, config.heads, config.layers,
                                               config.mlp_ratio, config.dropout)
        self.head = PredictionHead(config.dim)
        mean = np.zeros((config.num_points, 2), np.float32) if mean_shape is None else mean_shape
        self.register_buffer("mean_shape", torch.as_tensor(np.asarray(mean, np.float32)))
        self.register_buffer("pixel_mean", torch.tensor(127.0))
        self.register_buffer("pixel_scale", torch.tensor(1.0 / 128.0))
        self.inference_stages = config.stages

    def set_inference_stages(self, stages: int) -> "DSLPT":
        """Run 1 to ``config.stages`` coarse-to-fine stages at inference (same weights)."""
        if not 1 <= stages <= self.config.stages:
            raise ValueError(f"stages must be 1..{self.config.stages}, not {stages}")
        self.inference_stages = stages
        return self

    def forward_stages(self, images: torch.Tensor, stages: int | None = None) -> list[dict[str, torch.Tensor]]:
        """Per stage: ``centres`` (B, N, 2) and ``sizes`` (B, N) of its patches, every layer's
        ``mu`` (L, B, N, 2) in patch coordinates and ``sigma`` (L, B, N, 2) in patch units, and
        the last layer's ``landmarks`` (B, N, 2) and ``sigma_global`` (B, N, 2) in crop units.
        Patch positions and sizes are not differentiated through (each stage starts detached)."""
        cfg = self.config
        maps = self.embedding.reduced(self.backbone((images - self.pixel_mean) * self.pixel_scale))
        b = images.shape[0]
        centres = self.mean_shape.unsqueeze(0).expand(b, -1, -1)
        sizes = torch.full(centres.shape[:2], 2.0 * cfg.initial_patch, dtype=images.dtype, device=images.device)
        out = []
        for _ in range(stages or cfg.stages):
            layers = self.decoder(self.embedding(maps, centres, sizes))
            mu, sigma = self.head(torch.stack(layers))
            landmarks = patch_to_global(mu[-1], centres, sizes)
            out.append({"centres": centres, "sizes": sizes, "mu": mu, "sigma": sigma, "landmarks": landmarks,
                        "sigma_global": sigma_to_global(sigma[-1], sizes)})
            last_sigma = sigma[-1].detach() if cfg.patch_rule == "dynamic" else None
            sizes = next_patch_sizes(sizes, last_sigma, cfg.patch_context, cfg.patch_clamp)
            centres = landmarks.detach()
        return out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_stages(images, self.inference_stages)[-1]["landmarks"]

    @property
    def capabilities(self) -> Capabilities:
        """The declared outputs, stages and spread (``models.capabilities``)."""
        return capabilities("dslpt", self.config.to_dict())

    def forward_multitask(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``landmarks`` (B, N, 2) and, for DSLPT, ``sigma`` (B, N, 2) per-axis spread, both in
        normalised crop units, from ``inference_stages`` stages."""
        last = self.forward_stages(images, self.inference_stages)[-1]
        out = {"landmarks": last["landmarks"]}
        if self.config.predicts_sigma:
            out["sigma"] = last["sigma_global"]
        return out
