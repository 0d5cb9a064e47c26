"""Registry of the feature backbones; each returns a list of maps and has ``channels``/``strides``."""
from __future__ import annotations

from functools import partial
from typing import Callable

from torch import nn

from .efficientnet_lite import EfficientNetLite
from .hrnet import HRNetBackbone
from .mobilenetv3 import MobileNetV3Backbone
from .resnet import ResNetBackbone

BACKBONES: dict[str, Callable[[], nn.Module]] = {
    "efficientnet_lite0": EfficientNetLite,
    "mobilenetv3": MobileNetV3Backbone,
    "resnet34": partial(ResNetBackbone, 34),
    "resnet50": partial(ResNetBackbone, 50),
    "hrnet_w18c": partial(HRNetBackbone, lite=False),
    "hrnet_w18c_lite": partial(HRNetBackbone, lite=True),
}


def build_backbone(name: str) -> nn.Module:
    """A freshly initialised backbone by registry name."""
    try:
        factory = BACKBONES[name]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; known: {', '.join(sorted(BACKBONES))}") from None
    return factory()
