"""Backbone registry: output layout, parameter counts, gradient flow, and the cost helpers."""
from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from facepoints.models.backbones import BACKBONES, build_backbone
from facepoints.models.cost import count_flops, count_parameters, cpu_ms_per_call

torch.set_num_threads(1)
SIZE = 64


@pytest.fixture(scope="module")
def built() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {name: build_backbone(name).eval() for name in BACKBONES}


@pytest.mark.parametrize("name", list(BACKBONES))
def test_outputs_match_declared_channels_and_strides(built, name):
    model = built[name]
    with torch.no_grad():
        outs = model(torch.rand(1, 3, SIZE, SIZE))
    assert isinstance(outs, list) and len(outs) == len(model.channels) == len(model.strides)
    for out, c, s in zip(outs, model.channels, model.strides):
        assert out.shape == (1, c, SIZE // s, SIZE // s)
        assert torch.isfinite(out).all()


def test_expected_layouts():
    assert "torchvision" not in sys.modules and "timm" not in sys.modules
    expected = {"resnet34": ((64, 128, 256, 512), (4, 8, 16, 32)),
                "resnet50": ((256, 512, 1024, 2048), (4, 8, 16, 32)),
                "hrnet_w18c": ((270,), (4,)), "hrnet_w18c_lite": ((270,), (4,)),
                "efficientnet_lite0": ((24, 40, 112), (4, 8, 16))}
    for name, (channels, strides) in expected.items():
        model = BACKBONES[name]()
        assert (model.channels, model.strides) == (channels, strides), name


def test_parameter_counts_match_reference_architectures(built):
    # torchvision resnet34 / resnet50 minus the 1000-way fc layer
    assert count_parameters(built["resnet34"]) == 21_797_672 - 513_000
    assert count_parameters(built["resnet50"]) == 25_557_032 - 2_049_000
    full, lite = count_parameters(built["hrnet_w18c"]), count_parameters(built["hrnet_w18c_lite"])
    assert 9.3e6 <= full <= 9.7e6  # HRNetV2-W18 landmark backbone without its head
    assert lite < 0.5 * full


def test_resnet_uses_torchvision_parameter_names(built):
    keys = set(built["resnet34"].state_dict())
    wanted = {"conv1.weight", "bn1.running_mean", "layer2.0.downsample.0.weight", "layer4.2.conv2.weight"}
    assert wanted <= keys
    assert not any(k.startswith("fc.") for k in keys)
    assert "layer3.0.conv3.weight" in built["resnet50"].state_dict()


@pytest.mark.parametrize("name", ["resnet34", "hrnet_w18c_lite"])
def test_gradient_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = build_backbone(name).train()
    sum(out.sum() for out in model(torch.rand(2, 3, SIZE, SIZE))).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_unknown_backbone_lists_known_names():
    with pytest.raises(KeyError, match="resnet34"):
        build_backbone("vgg16")


def test_count_flops_is_two_per_multiply_add():
    assert count_flops(nn.Linear(10, 20), torch.rand(3, 10)) == 2 * 3 * 10 * 20


def test_cpu_ms_per_call_is_positive():
    layer = nn.Linear(10, 20)
    x = torch.rand(3, 10)
    ms = cpu_ms_per_call(lambda: layer(x), repeats=5, warmup=1)
    assert isinstance(ms, float) and ms > 0
