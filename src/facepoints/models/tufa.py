"""TUFA: task-agnostic unified face alignment (thesis ch. 6).

TUFA learns a mapping from a canonical face plane (mean-shape coordinates in [-1, 1]) to each
face. Plane points become sin/cos structure prompts E (eq. 6.1-6.3); a decoder whose state T
starts at zero lets the prompts share geometry (self-attention, q = k = LN(T) + E, v = LN(T))
and query image tokens F with positions P (cross-attention, q = LN(T) + E, k = F + P, v = F),
then an FFN (eq. 6.6-6.11). A shared MLP maps every layer's output to an offset from the point's
starting position ``p * plane_to_crop`` in normalised crop coordinates.

Any plane point can be prompted (``forward_points``: zero-shot landmarks). Each landmark scheme
(dataset) registers its mean shape plus a learnable semantic alignment offset (ch. 6.2.2);
``anchors(name)`` is their sum and ``forward`` predicts the default scheme's anchors, so the
model drops into the pipeline like the other landmark networks.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .capabilities import Capabilities, capabilities
from .inherent_relation import InherentRelationLayer
from .local_refiner import LocalRefiner
from .structure_prompts import structure_prompts
from .token_encoders import build_token_encoder

_SCHEME_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class TUFAConfig:
    """Architecture hyper-parameters (stored in model cards). ``keep_fraction`` is the share of
    anchors kept by training-time masking (thesis: 25 %); ``plane_to_crop`` maps the plane (the
    tight landmark box) into the crop, which is ``crop_margin`` = 1.25 times larger.
    ``refine_stages`` > 0 adds a ``LocalRefiner`` (CNN encoders only): that many coarse-to-fine
    stages of ``refine_layers`` layers on ``refine_grid`` x ``refine_grid`` patches of the finer
    backbone maps, the first ``refine_patch`` wide (normalised crop units), each next one half."""

    num_points: int = 68
    input_size: int = 128
    encoder: str = "cnn_lite0"
    dim: int = 256
    heads: int = 8
    layers: int = 6
    mlp_ratio: int = 4
    tau: float = 10000.0
    prompt_scale: float = 1.0
    keep_fraction: float = 0.25
    plane_to_crop: float = 0.8
    dropout: float = 0.0
    scheme: str = "ibug68"
    refine_stages: int = 0
    refine_layers: int = 2
    refine_grid: int = 7
    refine_patch: float = 0.25

    def __post_init__(self) -> None:
        if self.dim % 4 or self.dim % self.heads:
            raise ValueError(f"dim {self.dim} must be a multiple of 4 and of heads ({self.heads})")
        if not 0.0 < self.keep_fraction <= 1.0:
            raise ValueError(f"keep_fraction must be in (0, 1], not {self.keep_fraction}")
        if not _SCHEME_NAME.fullmatch(self.scheme):
            raise ValueError(f"scheme name {self.scheme!r} must be letters, digits and underscores")
        if self.refine_stages < 0 or self.refine_layers < 1 or self.refine_grid < 1 or self.refine_patch <= 0:
            raise ValueError("refine_stages must be >= 0, refine_layers and refine_grid >= 1, refine_patch > 0")

    @property
    def coarse_to_fine_stages(self) -> int | None:
        """1 (the decoder) + the refinement stages; ``None`` without local refinement."""
        return 1 + self.refine_stages if self.refine_stages else None

    def to_dict(self) -> dict:
        return asdict(self)


class TUFADecoderLayer(InherentRelationLayer):
    """Pre-LN MSA / MCA / FFN (eq. 6.6-6.11). The SLPT inherent relation layer computes exactly
    this with queries = prompts E, representations = tokens F, structure = positions P."""

    def forward(self, state: torch.Tensor, prompts: torch.Tensor, tokens: torch.Tensor,
                positions: torch.Tensor) -> torch.Tensor:
        """(B, P, d) state T, (B, P, d) prompts E, (B, L, d) tokens F, (1, L, d) positions P."""
        return super().forward(state, prompts, tokens, positions)


class TUFA(nn.Module):
    """(B, 3, S, S) RGB 0-255 -> (B, N, 2) landmarks of the default scheme in [-1, 1] crop
    coordinates (``forward``); ``forward_points`` maps any plane points."""

    def __init__(self, config: TUFAConfig, mean_shape: np.ndarray | torch.Tensor | None = None,
                 encoder: nn.Module | None = None) -> None:
        """``mean_shape`` (num_points, 2): the default scheme's mean shape in plane coordinates
        (tight box -> [-1, 1], as ``LandmarkScheme.mean_shape``; zeros when omitted).
        ``encoder`` overrides ``config.encoder`` (tests, experiments); it must return
        ``config.dim``-wide tokens and positions."""
        super().__init__()
        self.config = config
        self.encoder = (encoder if encoder is not None
                        else build_token_encoder(config.encoder, config.input_size, config.dim))
        self.decoder = nn.ModuleList([TUFADecoderLayer(config.dim, config.heads, config.mlp_ratio, config.dropout)
                                      for _ in range(config.layers)])
        self.head = nn.Sequential(nn.LayerNorm(config.dim), nn.Linear(config.dim, config.dim), nn.GELU(),
                                  nn.Linear(config.dim, 2))
        nn.init.normal_(self.head[-1].weight, std=1e-3)  # start at the plane position
        nn.init.zeros_(self.head[-1].bias)
        self.refiner = self._build_refiner(config)
        self.inference_stages = 1 + config.refine_stages
        self.register_buffer("pixel_mean", torch.tensor(127.0))
        self.register_buffer("pixel_scale", torch.tensor(1.0 / 128.0))
        self.alignment = nn.ParameterDict()
        mean = np.zeros((config.num_points, 2), np.float32) if mean_shape is None else mean_shape
        self.add_scheme(config.scheme, mean)

    def _build_refiner(self, config: TUFAConfig) -> LocalRefiner | None:
        if not config.refine_stages:
            return None
        if not hasattr(self.encoder, "tokens_and_maps"):
            raise ValueError(f"local refinement needs a CNN token encoder, not {config.encoder!r}")
        return LocalRefiner(tuple(self.encoder.backbone.channels[:-1]), config.dim, config.heads,
                            config.refine_layers, config.refine_grid, config.refine_patch, config.refine_stages)

    def set_inference_stages(self, stages: int) -> "TUFA":
        """Run the decoder (1) and up to ``config.refine_stages`` refinement stages at inference;
        training runs every stage."""
        if not 1 <= stages <= 1 + self.config.refine_stages:
            raise ValueError(f"stages must be 1..{1 + self.config.refine_stages}, not {stages}")
        self.inference_stages = stages
        return self

    # --- schemes and semantic alignment ---------------------------------------------------------

    def add_scheme(self, name: str, mean_shape: np.ndarray | torch.Tensor) -> None:
        """Register a scheme: buffer ``mean_<name>`` (N, 2) and a zero learnable offset
        ``alignment[name]`` (N, 2), the semantic alignment embedding A."""
        if not _SCHEME_NAME.fullmatch(name):
            raise ValueError(f"scheme name {name!r} must be letters, digits and underscores")
        if name in self.alignment:
            raise ValueError(f"scheme {name!r} is already registered")
        mean = torch.as_tensor(np.asarray(mean_shape, np.float32))
        if mean.ndim != 2 or mean.shape[1] != 2 or len(mean) == 0:
            raise ValueError(f"mean shape must be (N, 2), got {tuple(mean.shape)}")
        device = self.pixel_mean.device
        self.register_buffer(f"mean_{name}", mean.to(device))
        self.alignment[name] = nn.Parameter(torch.zeros_like(mean, device=device))

    @property
    def schemes(self) -> list[str]:
        """Registered scheme names, the default one first."""
        names = list(self.alignment.keys())
        return [self.config.scheme] + [n for n in names if n != self.config.scheme]

    def set_default_scheme(self, name: str) -> None:
        """Make registered scheme ``name`` the one ``forward`` predicts: ``config.scheme`` and
        ``config.num_points`` follow it (few-shot fine-tuning to a new scheme, ch. 6.2.4)."""
        points = len(self.anchors(name))
        self.config = replace(self.config, scheme=name, num_points=points)

    def anchors(self, name: str | None = None) -> torch.Tensor:
        """(N, 2) plane anchors of scheme ``name`` (default: ``config.scheme``): mean + offset."""
        name = name or self.config.scheme
        if name not in self.alignment:
            raise KeyError(f"this model has no landmark set {name!r}; it has: {', '.join(self.schemes)}")
        return getattr(self, f"mean_{name}") + self.alignment[name]

    @classmethod
    def from_state_dict(cls, config: TUFAConfig, state: Mapping[str, torch.Tensor],
                        encoder: nn.Module | None = None) -> "TUFA":
        """Rebuild a model, every scheme of ``state`` (its ``mean_<name>`` buffers) included,
        and load ``state`` strictly."""
        default = f"mean_{config.scheme}"
        if default not in state:
            raise KeyError(f"state has no {default!r} buffer for the default scheme")
        model = cls(config, state[default].cpu().numpy(), encoder=encoder)
        for key, value in state.items():
            if key.startswith("mean_") and key != default:
                model.add_scheme(key[len("mean_"):], value.cpu().numpy())
        model.load_state_dict(state)
        return model

    # --- network ---------------------------------------------------------------------------------

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) RGB 0-255 -> tokens F (B, L, d) and positions P (1, L, d)."""
        return self.encoder(self._normalise(images))

    def _normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.pixel_mean) * self.pixel_scale

    @property
    def capabilities(self) -> Capabilities:
        """Declared: prompted by plane points, and its stages (``models.capabilities``)."""
        return capabilities("tufa", self.config.to_dict())

    def forward_points(self, images: torch.Tensor, points: torch.Tensor, all_layers: bool = False) -> torch.Tensor:
        """Plane points (B, P, 2) or (P, 2), any number and values -> their positions in crop
        coordinates (B, P, 2), or every layer's and refinement stage's (layers + stages, B, P, 2)
        with ``all_layers``."""
        maps: list[torch.Tensor] = []
        if self.refiner is None:
            tokens, positions = self.encode(images)
        else:
            tokens, positions, maps = self.encoder.tokens_and_maps(self._normalise(images))
        b = images.shape[0]
        points = points.to(tokens.device, tokens.dtype)
        if points.ndim == 2:
            points = points.unsqueeze(0).expand(b, -1, -1)
        if points.ndim != 3 or points.shape[0] != b or points.shape[2] != 2:
            raise ValueError(f"points must be (P, 2) or ({b}, P, 2), got {tuple(points.shape)}")
        cfg = self.config
        prompts = structure_prompts(points, cfg.dim, cfg.tau, cfg.prompt_scale)
        state = torch.zeros_like(prompts)
        outputs = []
        for layer in self.decoder:
            state = layer(state, prompts, tokens, positions)
            outputs.append(state)
        start = points * cfg.plane_to_crop
        layered = start + self.head(torch.stack(outputs)) if all_layers else None
        last = layered[-1] if layered is not None else start + self.head(outputs[-1])
        refine = self.config.refine_stages if self.training or all_layers else self.inference_stages - 1
        if self.refiner is None or not refine:
            return layered if layered is not None else last
        refined = self.refiner(maps[:-1], last, outputs[-1], prompts, tokens, positions, refine)
        return torch.cat([layered, torch.stack(refined)]) if layered is not None else refined[-1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) RGB 0-255 -> (B, N, 2) landmarks of the default scheme."""
        return self.forward_points(images, self.anchors())


def sample_anchor_indices(num_points: int, keep_fraction: float, batch: int,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """(batch, K) sorted random subsets of ``range(num_points)``, K = max(1, round(keep_fraction N)),
    drawn independently per sample (training-time anchor masking)."""
    keep = max(1, round(keep_fraction * num_points))
    return _random_subsets(num_points, min(keep, num_points), batch, generator)


def _random_subsets(num_points: int, keep: int, batch: int, generator: torch.Generator | None) -> torch.Tensor:
    scores = torch.rand(batch, num_points, generator=generator)
    return scores.argsort(dim=1)[:, :keep].sort(dim=1).values


def masked_anchor_batch(model: TUFA, scheme_names: list[str], keep: int | None = None,
                        generator: torch.Generator | None = None,
                        allowed: Mapping[str, Sequence[int]] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample ``keep`` random anchors of its scheme: anchors (B, K, 2) (differentiable
    w.r.t. the alignment offsets) and indices (B, K) into each sample's scheme. The same K for
    all samples keeps batches mixing schemes rectangular; K must not exceed the smallest
    scheme's point count. ``keep=None``: ``round(config.keep_fraction * smallest N)``, at least 1.
    ``allowed`` maps a scheme to the only indices that may be drawn (e.g. all but withheld
    points); N then counts those."""
    anchors = {name: model.anchors(name) for name in dict.fromkeys(scheme_names)}
    pools = {name: _pool(len(a), None if allowed is None else allowed.get(name)) for name, a in anchors.items()}
    smallest = min(len(p) for p in pools.values())
    if keep is None:
        keep = max(1, round(model.config.keep_fraction * smallest))
    if not 1 <= keep <= smallest:
        raise ValueError(f"keep must be in 1..{smallest} (the smallest scheme's points), not {keep}")
    rows, picked = [], []
    for name in scheme_names:
        idx = pools[name][_random_subsets(len(pools[name]), keep, 1, generator)[0]]
        rows.append(idx)
        picked.append(anchors[name][idx.to(anchors[name].device)])
    return torch.stack(picked), torch.stack(rows).to(picked[0].device)


def _pool(num_points: int, allowed: Sequence[int] | None) -> torch.Tensor:
    """Sorted indices that may be drawn: ``allowed`` (checked) or all ``num_points``."""
    if allowed is None:
        return torch.arange(num_points)
    pool = sorted(set(int(i) for i in allowed))
    if not pool or pool[0] < 0 or pool[-1] >= num_points:
        raise ValueError(f"allowed indices must be a non-empty subset of 0..{num_points - 1}")
    return torch.tensor(pool, dtype=torch.long)
