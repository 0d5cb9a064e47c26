"""Small building blocks shared by the backbones and heads."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor`` (at least 90 % of ``value``)."""
    out = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * value else out


class SamePadConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding (asymmetric for stride 2), as EfficientNet-Lite expects."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, padding=0, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # int(): when traced for ONNX the crop size is fixed, so the padding becomes a constant
        # instead of a chain of Shape/Gather/Cast nodes that costs more than the convolutions.
        ih, iw = int(x.shape[-2]), int(x.shape[-1])
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        dh, dw = self.dilation
        ph = max((math.ceil(ih / sh) - 1) * sh + (kh - 1) * dh + 1 - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + (kw - 1) * dw + 1 - iw, 0)
        if ph % 2 == 0 and pw % 2 == 0:  # symmetric: the convolution pads (no separate Pad op)
            return F.conv2d(x, self.weight, self.bias, self.stride, (ph // 2, pw // 2), self.dilation, self.groups)
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return super().forward(x)


class ConvBNAct(nn.Sequential):
    """Conv (symmetric padding) + BatchNorm + activation."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 act: type[nn.Module] | None = nn.ReLU, dilation: int = 1) -> None:
        pad = dilation * (kernel - 1) // 2
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, pad, dilation=dilation,
                                             groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act is not None:
            layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.Hardswish) else act())
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention of MobileNetV3 (hard-sigmoid gate)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        mid = make_divisible(channels / reduction)
        self.fc1 = nn.Conv2d(channels, mid, 1)
        self.fc2 = nn.Conv2d(mid, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(s), inplace=True)))


def coord_channels(x: torch.Tensor) -> torch.Tensor:
    """``x`` with two extra channels holding x and y coordinates in [-1, 1]."""
    # int(): traced for ONNX the grid size is fixed, so the coordinates become constants
    n, h, w = x.shape[0], int(x.shape[-2]), int(x.shape[-1])
    ys = _unit_range(h, x).view(1, 1, h, 1).expand(n, 1, h, w)
    xs = _unit_range(w, x).view(1, 1, 1, w).expand(n, 1, h, w)
    return torch.cat([x, xs, ys], dim=1)


def _unit_range(size: int, like: torch.Tensor) -> torch.Tensor:
    """``size`` evenly spaced values from -1 to 1 in ``like``'s dtype (float32 arithmetic, so an
    ONNX export never promotes the graph to double)."""
    step = 2.0 / max(size - 1, 1)
    return (torch.arange(size, device=like.device, dtype=torch.float32) * step - 1.0).to(like.dtype)


class CoordConv(nn.Module):
    """CoordConv (Liu et al. 2018): a conv block over the input plus coordinate channels."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int = 1,
                 act: type[nn.Module] | None = nn.ReLU) -> None:
        super().__init__()
        self.conv = ConvBNAct(cin + 2, cout, kernel, stride, groups=groups, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(coord_channels(x))
