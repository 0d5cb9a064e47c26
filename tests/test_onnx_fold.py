"""Exported ONNX files carry TensorFlow "same" padding inside their convolutions (``registry.onnx_fold``):
no separate ``Pad`` node, outputs unchanged; paddings that cannot be folded stay."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from facepoints.models.layers import SamePadConv2d  # noqa: E402
from facepoints.registry import get_card, weights_path  # noqa: E402
from facepoints.registry.onnx_fold import fold_pads_into_convs  # noqa: E402


class Reflected(nn.Module):
    """A reflect padding (not zeros) in front of a convolution, and a zero padding read twice."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = F.pad(x, [0, 1, 0, 1])
        return self.a(F.pad(x, [1, 1, 1, 1], mode="reflect"))[..., :-1, :-1] + self.b(shared) + self.c(shared)


def _export(module: nn.Module, path, size: int = 16) -> np.ndarray:
    module.eval()
    x = torch.rand(2, 3, size, size) * 255
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), input_names=["crops"], output_names=["out"],
                          dynamic_axes={"crops": {0: "batch"}}, opset_version=17, dynamo=False)
    return x.numpy()


def _run(path, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"crops": x})[0]


def _pads(path) -> int:
    return sum(node.op_type == "Pad" for node in onnx.load(str(path)).graph.node)


def test_same_padding_of_strided_convolutions_is_folded_without_changing_outputs(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(SamePadConv2d(3, 8, 3, stride=2), nn.ReLU(), SamePadConv2d(8, 8, 5, stride=2, groups=8),
                        SamePadConv2d(8, 4, 1))
    path = tmp_path / "net.onnx"
    x = _export(net, path, size=20)
    before = _run(path, x)
    assert _pads(path) == 2  # the two strided convolutions pad asymmetrically
    assert fold_pads_into_convs(path) == 2
    assert _pads(path) == 0
    np.testing.assert_array_equal(_run(path, x), before)
    assert fold_pads_into_convs(path) == 0  # nothing left to fold: the file stays as it is


def test_paddings_that_are_not_plain_zeros_for_one_convolution_stay(tmp_path):
    path = tmp_path / "reflected.onnx"
    x = _export(Reflected(), path)
    before, pads = _run(path, x), _pads(path)
    assert fold_pads_into_convs(path) == 0
    assert _pads(path) == pads == 2
    np.testing.assert_array_equal(_run(path, x), before)


def test_the_shipped_default_model_has_no_pad_node():
    path = weights_path(get_card("atpn_lite0_68"), "onnx")
    assert _pads(path) == 0
