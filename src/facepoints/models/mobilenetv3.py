"""MobileNetV3 blocks and a small backbone returning features at strides 4, 8, 16."""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct, SqueezeExcite

# (kernel, expanded, out, use_se, activation, stride): MobileNetV3-Small-like, to stride 16.
ATPN_MNV3_STAGES = [
    (3, 16, 16, True, "relu", 2),     # stride 4
    (3, 72, 24, False, "relu", 1),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hswish", 2),   # stride 8
    (5, 240, 40, True, "hswish", 1),
    (5, 240, 40, True, "hswish", 1),
    (5, 120, 48, True, "hswish", 1),
    (5, 144, 48, True, "hswish", 1),
    (5, 288, 96, True, "hswish", 2),  # stride 16
    (5, 576, 96, True, "hswish", 1),
    (5, 576, 96, True, "hswish", 1),
]
_ACTS = {"relu": nn.ReLU, "hswish": nn.Hardswish}


class InvertedResidual(nn.Module):
    """MobileNetV3 block: 1x1 expand, kxk depthwise, optional squeeze-excite, 1x1 project."""

    def __init__(self, cin: int, kernel: int, mid: int, cout: int, se: bool, act: str, stride: int) -> None:
        super().__init__()
        a = _ACTS[act]
        layers: list[nn.Module] = []
        if mid != cin:
            layers.append(ConvBNAct(cin, mid, 1, act=a))
        layers.append(ConvBNAct(mid, mid, kernel, stride, groups=mid, act=a))
        if se:
            layers.append(SqueezeExcite(mid))
        layers.append(ConvBNAct(mid, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV3Backbone(nn.Module):
    """Stem + MobileNetV3 blocks; returns the last feature map at strides 4, 8 and 16."""

    strides: tuple[int, ...] = (4, 8, 16)

    def __init__(self, stages: list | None = None) -> None:
        super().__init__()
        stages = stages or ATPN_MNV3_STAGES
        self.stem = ConvBNAct(3, 16, 3, 2, act=nn.Hardswish)
        blocks, taps, cin, stride = [], {}, 16, 2
        for kernel, mid, cout, se, act, s in stages:
            blocks.append(InvertedResidual(cin, kernel, mid, cout, se, act, s))
            cin, stride = cout, stride * s
            taps[stride] = len(blocks) - 1
        self.blocks = nn.ModuleList(blocks)
        self.taps = {s: i for s, i in taps.items() if s in (4, 8, 16)}
        self.channels = tuple(stages[self.taps[s]][2] for s in (4, 8, 16))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        out, wanted = [], set(self.taps.values())
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in wanted:
                out.append(x)
        return out
