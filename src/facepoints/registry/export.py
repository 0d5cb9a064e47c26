"""Export a network to ONNX in the form ``OnnxRuntime`` reads: input ``crops``, named outputs.

A landmark-only network has one output, ``landmarks``; a network that declares more outputs
(``capabilities.outputs``: ``pose``, ``face_prob``, ``sigma``) gets them too, in that order.
``store_weights_half`` halves a file's size by storing float32 weights as float16 behind a
Cast (ONNX Runtime folds the casts when it loads the file, so it still computes in float32).
``export_model_files`` writes every ONNX file a model ships: a coarse-to-fine network (DSLPT) gets
one per stage count (``registry.onnx_weights_key``), since ONNX Runtime computes a whole graph
whatever outputs are asked for. Needs PyTorch and the ``onnx`` package (the ``[train]`` extra).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from ..pipeline.runtime import PLANE_ANCHORS_KEY
from .card import sha256_of
from .onnx_fold import fold_pads_into_convs
from .onnx_half import store_weights_half


class PromptedExport(nn.Module):
    """Wraps a prompted network's ``forward_points`` (TUFA): inputs ``crops`` and ``points`` (P, 2)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        return self.network.forward_points(images, points)


class MultitaskExport(nn.Module):
    """Wraps a network's ``forward_multitask`` as a tuple of the outputs ``names``."""

    def __init__(self, network: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.network = network
        self.names = names

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.network.forward_multitask(images)
        return tuple(out[name] for name in self.names)


def output_names(network: nn.Module, size: int) -> list[str]:
    """The outputs a network declares (``landmarks`` first); ``size`` is kept for old callers."""
    return list(network.capabilities.outputs)


def export_onnx(network: nn.Module, size: int, path: str | Path, opset: int = 17,
                named_weights: bool = False) -> list[str]:
    """Write ``network`` (eval mode) to ``path`` with a dynamic batch axis, "same" paddings folded into
    their convolutions (``onnx_fold``); returns the output names.
    A network that takes plane points (TUFA) gets a second input, ``points`` (P, 2), any P, and its
    landmark sets' plane anchors in the file's metadata (``PLANE_ANCHORS_KEY``). ``named_weights``:
    the file also holds the whole PyTorch state (``onnx_state``: no constant folding, so every
    weight keeps its name)."""
    network = network.eval()
    names = output_names(network, size)
    dummy = torch.rand(1, 3, size, size) * 255
    folding = {"do_constant_folding": False, "training": torch.onnx.TrainingMode.PRESERVE} if named_weights else {}
    if network.capabilities.takes_points:
        module, inputs, input_names = PromptedExport(network).eval(), (dummy, network.anchors().detach()), ["crops", "points"]
        names = ["landmarks"]
        axes = {"crops": {0: "batch"}, "points": {0: "points"}, "landmarks": {0: "batch", 1: "points"}}
    else:  # eval(): torch.onnx.export restores the wrapper's mode afterwards, and with it the network's
        module = network if names == ["landmarks"] else MultitaskExport(network, names).eval()
        inputs, input_names = dummy, ["crops"]
        axes = {"crops": {0: "batch"}, **{name: {0: "batch"} for name in names}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, inputs, str(path), input_names=input_names, output_names=names,
                          dynamic_axes=axes, opset_version=opset, dynamo=False, **folding)
    fold_pads_into_convs(path)
    if network.capabilities.takes_points:
        _store_anchors(path, {name: network.anchors(name).detach().tolist() for name in network.schemes})
    if named_weights:
        from .onnx_state import store_extra_state

        store_extra_state(path, network.state_dict(), "" if module is network else "network.")
    return names


def _store_anchors(path: str | Path, anchors: dict[str, list]) -> None:
    """Put a prompted network's plane anchors per landmark set (default set first) into the file."""
    import json

    import onnx

    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = PLANE_ANCHORS_KEY, json.dumps(anchors)
    onnx.save(model, str(path))


def export_model_files(network: nn.Module, size: int, folder: str | Path, name: str, half: bool = False,
                       single_file: bool = False) -> dict:
    """Write ``name.onnx`` (the network's default stages) into ``folder`` and, for a coarse-to-fine
    network, ``name_stagesK.onnx`` for each other stage count K; weights stored as float16 when
    ``half``. ``single_file``: only ``name.onnx``, holding the PyTorch weights too (``onnx_state``).
    Returns the model card's ``weights`` entries: ``{key: {"file", "sha256"}}``."""
    from . import onnx_weights_key

    folder = Path(folder)
    trained = network.capabilities.stages
    counts = [None] + (list(range(1, trained)) if trained and not single_file else [])
    entries = {}
    try:
        for stages in counts:
            if trained:
                network.set_inference_stages(stages or trained)
            path = folder / (f"{name}.onnx" if stages is None else f"{name}_stages{stages}.onnx")
            export_onnx(network, size, path, named_weights=single_file)
            if half:
                store_weights_half(path)
            entries[onnx_weights_key(stages)] = {"file": path.name, "sha256": sha256_of(path)}
    finally:
        if trained:
            network.set_inference_stages(trained)
    return entries
