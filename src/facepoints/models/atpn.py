"""ATPN landmark branch (thesis ch. 3.2.1) on a multi-level backbone.

Low-level features are fused FPN-style (1x1 conv + deconv), passed through multiview
blocks, brought to the coarsest grid by CoordConv down-sampling and projected to a
vector by a 7x7 coord depthwise block; the output is the residual to the mean shape. With
``head: simcc`` the fused maps feed a SimCC head instead (``atpn_simcc``: 1-D bins per axis), with
``head: heatmap`` a heatmap head (``atpn_heatmap``: stride-4 heatmaps), each decoded to its
expectation inside ``forward``. Coordinates are normalised to [-1, 1] over the input crop;
decoding to pixels is the pipeline's job. Optional pose and tracking (face-confidence) branches
(``atpn_branches``) read the heatmap-fused stride-4 features; ``forward_multitask`` runs
everything from one backbone pass.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .atpn_branches import FaceConfidenceBranch, PoseBranch, landmark_heatmap
from .atpn_fusion import FusedFeatures
from .atpn_heatmap import HeatmapHead, spatial_expectation
from .atpn_simcc import SimCCHead, expectation
from .capabilities import ATPN_HEADS, Capabilities, capabilities
from .efficientnet_lite import EfficientNetLite
from .layers import ConvBNAct, CoordConv, coord_channels
from .mobilenetv3 import MobileNetV3Backbone

BACKBONES = {"mobilenetv3": MobileNetV3Backbone, "efficientnet_lite0": EfficientNetLite}
HEADS = ATPN_HEADS


@dataclass(frozen=True)
class ATPNConfig:
    """Architecture hyper-parameters (stored in model cards); ``pose`` / ``tracking`` add the
    head-pose and face-confidence branches; ``head`` is one of ``HEADS``."""

    num_points: int = 68
    input_size: int = 112
    backbone: str = "efficientnet_lite0"
    width: int = 64
    embed: int = 256
    pose: bool = False
    tracking: bool = False
    head: str = "regression"

    def to_dict(self) -> dict:
        return asdict(self)


class CoordDepthwiseBlock(nn.Module):
    """Coordinates + 1x1 expansion, then a depthwise conv covering the whole grid (no pooling)."""

    def __init__(self, cin: int, embed: int, grid: int) -> None:
        super().__init__()
        self.expand = ConvBNAct(cin + 2, embed, 1)
        self.depthwise = ConvBNAct(embed, embed, grid, groups=embed, act=None)
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(coord_channels(x))
        y = nn.functional.conv2d(y, self.depthwise[0].weight, None, 1, 0, 1, y.shape[1])
        return self.depthwise[1](y).flatten(1)


class ATPNLandmarkHead(FusedFeatures):
    """FPN fusion -> multiview blocks -> CoordConv down-sampling -> coord depthwise -> 2N residuals."""

    def __init__(self, in_channels: tuple[int, int, int], num_points: int, width: int, embed: int,
                 grid: int) -> None:
        super().__init__(in_channels, width)
        self.down = nn.ModuleList([CoordConv(width, width, 4, 4), CoordConv(width, width, 2, 2)])
        self.vector = CoordDepthwiseBlock(3 * width, embed, grid)
        self.out = nn.Linear(embed, 2 * num_points)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        m4, m8, m16 = self.fused_maps(feats)
        grid = torch.cat([self.down[0](m4), self.down[1](m8), m16], dim=1)
        return self.out(self.vector(grid))


class ATPN(nn.Module):
    """ATPN landmark model: (B, 3, S, S) RGB 0-255 -> (B, N, 2) landmarks in [-1, 1] crop coordinates.

    ``features`` exposes the backbone maps (strides 4, 8, 16); the optional ``pose_branch`` and
    ``confidence_branch`` read the stride-4 (28x28) maps fused with a heatmap of the
    (detached) predicted landmarks. ``forward`` returns landmarks only, whatever the branches.
    """

    def __init__(self, config: ATPNConfig, mean_shape: np.ndarray | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = BACKBONES[config.backbone]()
        if config.head not in HEADS:
            raise ValueError(f"ATPN head must be one of {', '.join(HEADS)}, not {config.head!r}")
        mean = np.zeros((config.num_points, 2), np.float32) if mean_shape is None else mean_shape
        if config.head == "simcc":
            self.head = SimCCHead(self.backbone.channels, config.num_points, config.width, config.embed,
                                  config.input_size, torch.as_tensor(np.asarray(mean, np.float32)))
        elif config.head == "heatmap":
            self.head = HeatmapHead(self.backbone.channels, config.num_points, config.width, config.input_size,
                                    torch.as_tensor(np.asarray(mean, np.float32)))
        else:
            self.head = ATPNLandmarkHead(self.backbone.channels, config.num_points, config.width, config.embed,
                                         config.input_size // 16)
        self.register_buffer("mean_shape", torch.as_tensor(np.asarray(mean, np.float32)))
        self.register_buffer("pixel_mean", torch.tensor(127.0))
        self.register_buffer("pixel_scale", torch.tensor(1.0 / 128.0))
        low = self.backbone.channels[0]
        self.pose_branch = PoseBranch(low) if config.pose else None
        self.confidence_branch = FaceConfidenceBranch(low) if config.tracking else None

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.backbone((images - self.pixel_mean) * self.pixel_scale)

    def head_outputs(self, feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """``landmarks`` (B, N, 2) in [-1, 1] from backbone features; a SimCC head adds its bin
        logits ``simcc_x`` and ``simcc_y`` (B, N, bins), a heatmap head its ``heatmaps`` (B, N, g, g)
        logits, for their training losses."""
        if self.config.head == "heatmap":
            heatmaps = self.head(feats)
            return {"landmarks": spatial_expectation(heatmaps), "heatmaps": heatmaps}
        if self.config.head == "simcc":
            x_logits, y_logits = self.head(feats)
            landmarks = torch.stack([expectation(x_logits), expectation(y_logits)], dim=-1)
            return {"landmarks": landmarks, "simcc_x": x_logits, "simcc_y": y_logits}
        residual = self.head(feats)
        return {"landmarks": self.mean_shape + residual.view(-1, self.config.num_points, 2)}

    def landmarks_from(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """(B, N, 2) landmarks from backbone features."""
        return self.head_outputs(feats)["landmarks"]

    def forward_train(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the landmark loss reads (``head_outputs``)."""
        return self.head_outputs(self.features(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.landmarks_from(self.features(images))

    def fuse_heatmap(self, low: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """Eq. 3.2: stride-4 features times the heatmap of the (detached) landmarks."""
        return low * landmark_heatmap(landmarks.detach(), low.shape[-1]).unsqueeze(1)

    def branch_outputs(self, fused: torch.Tensor) -> dict[str, torch.Tensor]:
        """``pose`` (B, 3) radians and ``face_prob`` (B,) for the branches this model has."""
        out = {}
        if self.pose_branch is not None:
            out["pose"] = self.pose_branch(fused)
        if self.confidence_branch is not None:
            out["face_prob"] = self.confidence_branch.probability(self.confidence_branch(fused))
        return out

    @property
    def capabilities(self) -> Capabilities:
        """The declared outputs (``models.capabilities``)."""
        return capabilities("atpn", self.config.to_dict())

    def forward_multitask(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """One backbone pass -> ``landmarks`` (B, N, 2) in [-1, 1], plus ``pose`` (B, 3) yaw, pitch,
        roll in radians and ``face_prob`` (B,) when the model has those branches (keys absent
        otherwise)."""
        feats = self.features(images)
        landmarks = self.landmarks_from(feats)
        return {"landmarks": landmarks, **self.branch_outputs(self.fuse_heatmap(feats[0], landmarks))}
