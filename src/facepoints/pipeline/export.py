"""Export a network to ONNX in the form ``OnnxRuntime`` reads: input ``crops``, named outputs.

A landmark-only network has one output, ``landmarks``; a network with ``forward_multitask``
and branches also gets ``pose`` and/or ``face_prob`` (``runtime.OUTPUT_NAMES`` order).
Needs the ``onnx`` package (a development dependency).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from .runtime import OUTPUT_NAMES


class MultitaskExport(nn.Module):
    """Wraps a network's ``forward_multitask`` as a tuple of its outputs in ``OUTPUT_NAMES`` order."""

    def __init__(self, network: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.network = network
        self.names = names

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.network.forward_multitask(images)
        return tuple(out[name] for name in self.names)


def output_names(network: nn.Module, size: int) -> list[str]:
    """The outputs a network produces (``landmarks`` first)."""
    if not hasattr(network, "forward_multitask"):
        return ["landmarks"]
    with torch.inference_mode():
        keys = network.forward_multitask(torch.zeros(1, 3, size, size)).keys()
    return [name for name in OUTPUT_NAMES if name in keys]


def export_onnx(network: nn.Module, size: int, path: str | Path, opset: int = 17) -> list[str]:
    """Write ``network`` (eval mode) to ``path`` with a dynamic batch axis; returns the output names."""
    network = network.eval()
    names = output_names(network, size)
    module = network if names == ["landmarks"] else MultitaskExport(network, names)
    dummy = torch.rand(1, 3, size, size) * 255
    axes = {"crops": {0: "batch"}, **{name: {0: "batch"} for name in names}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, dummy, str(path), input_names=["crops"], output_names=names,
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    return names
