"""HRNet-W18 (HRNetV2, as in HRNet facial landmark detection) and its "lite" variant.

Parameter names follow HRNet-Facial-Landmark-Detection (``conv1``, ``layer1``, ``transition1``,
``stage2.0.branches``, ``stage2.0.fuse_layers`` ...), so its backbone weights load with
``strict=False`` (only ``head.*`` is left over).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ConvBNAct
from .resnet import BasicBlock, Bottleneck, make_layer

W18_WIDTHS = (18, 36, 72, 144)
FULL_MODULES = (1, 4, 3)  # HighResolutionModules in stages 2, 3, 4
BLOCKS_PER_BRANCH = 4
BN_MOMENTUM = 0.01


def _resize(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize ``x`` to ``like``'s spatial size (no-op when they already match)."""
    size = like.shape[-2:]
    return x if x.shape[-2:] == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _fuse_path(widths: tuple[int, ...], j: int, i: int) -> nn.Module:
    """Map branch ``j`` to branch ``i``'s width; upsampling (j > i) happens in ``forward``."""
    if j == i:
        return nn.Identity()
    if j > i:
        return ConvBNAct(widths[j], widths[i], 1, act=None)
    steps = [ConvBNAct(widths[j], widths[j], 3, 2) for _ in range(i - j - 1)]
    return nn.Sequential(*steps, ConvBNAct(widths[j], widths[i], 3, 2, act=None))


class HighResolutionModule(nn.Module):
    """Parallel branches of BasicBlocks followed by all-to-all multi-resolution fusion."""

    def __init__(self, widths: tuple[int, ...], blocks: int = BLOCKS_PER_BRANCH) -> None:
        super().__init__()
        n = len(widths)
        self.branches = nn.ModuleList(make_layer(BasicBlock, c, c, blocks) for c in widths)
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_fuse_path(widths, j, i) for j in range(n)) for i in range(n))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        return [self.relu(sum(_resize(f(x), xs[i]) for f, x in zip(paths, xs)))
                for i, paths in enumerate(self.fuse_layers)]


def _transition(cin: tuple[int, ...], cout: tuple[int, ...]) -> nn.ModuleList:
    """Adapt existing branches' widths and add a new stride-2 branch from the lowest resolution."""
    layers: list[nn.Module] = []
    for i, c in enumerate(cout):
        if i < len(cin):
            layers.append(nn.Identity() if cin[i] == c else ConvBNAct(cin[i], c, 3))
        else:
            layers.append(nn.Sequential(ConvBNAct(cin[-1], c, 3, 2)))
    return nn.ModuleList(layers)


class HRNetBackbone(nn.Module):
    """HRNetW18C (``lite=False``: 1/4/3 modules in stages 2/3/4) or HRNetW18C-lite (1/1/1).

    ``forward`` returns one stride-4 map: the four last-stage branches upsampled bilinearly and
    concatenated (18 + 36 + 72 + 144 = 270 channels), the HRNetV2 representation.
    """

    strides: tuple[int, ...] = (4,)

    def __init__(self, lite: bool = False, widths: tuple[int, ...] = W18_WIDTHS) -> None:
        super().__init__()
        modules = (1, 1, 1) if lite else FULL_MODULES
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_layer(Bottleneck, 64, 64, 4)
        prev = (64 * Bottleneck.expansion,)
        for s, count in enumerate(modules, start=2):
            cur = widths[:s]
            self.add_module(f"transition{s - 1}", _transition(prev, cur))
            self.add_module(f"stage{s}", nn.Sequential(*(HighResolutionModule(cur) for _ in range(count))))
            prev = cur
        self.channels = (sum(widths),)
        for m in self.modules():  # HRNet's own initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.001)
            elif isinstance(m, nn.BatchNorm2d):
                m.momentum = BN_MOMENTUM

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for s in (2, 3, 4):
            transition = getattr(self, f"transition{s - 1}")
            xs = [t(xs[min(i, len(xs) - 1)]) for i, t in enumerate(transition)]
            xs = getattr(self, f"stage{s}")(xs)
        return [torch.cat([xs[0]] + [_resize(x, xs[0]) for x in xs[1:]], dim=1)]
