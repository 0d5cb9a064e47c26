"""Fold the zero padding in front of a convolution into the convolution, in an exported ONNX file.

EfficientNet-Lite's TensorFlow "same" padding is asymmetric for stride 2, which a PyTorch
convolution cannot express, so the export writes a ``Pad`` node before each such convolution.
ONNX ``Conv`` takes asymmetric ``pads`` itself; a separate ``Pad`` costs a copy of the feature
map and, in ONNX Runtime, a layout change each way around it (about 15 % of ``atpn_lite0_68``'s
time). :func:`fold_pads_into_convs` moves each such padding into its convolution: the same
arithmetic, bit for bit. Needs the ``onnx`` package (the ``[train]`` extra) and ONNX Runtime.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def fold_pads_into_convs(path: str | Path) -> int:
    """Rewrite ``path`` with every zero ``Pad`` of only the spatial axes that feeds one ``Conv``
    folded into that convolution's ``pads``; nodes left unused are dropped. Returns how many
    were folded (0: the file is left as it was)."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    graph = model.graph
    pads = [n for n in graph.node if n.op_type == "Pad" and len(n.input) > 1 and n.input[1]]
    if not pads:
        return 0
    amounts = _constant_values(model, [n.input[1] for n in pads])
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    folded = []
    for pad in pads:
        amount = amounts.get(pad.input[1])
        conv = _foldable_conv(pad, amount, readers, outputs)
        if conv is None:
            continue
        attrs = {a.name: a for a in conv.attribute}
        old = list(attrs["pads"].ints) if "pads" in attrs else [0, 0, 0, 0]
        before, after = amount[2:4], amount[6:8]  # (N, C, H, W) begin values, then end values
        new = [old[0] + before[0], old[1] + before[1], old[2] + after[0], old[3] + after[1]]
        for attr in [a for a in conv.attribute if a.name in ("pads", "auto_pad")]:
            conv.attribute.remove(attr)
        conv.attribute.append(helper.make_attribute("pads", [int(v) for v in new]))
        conv.input[0] = pad.input[0]
        folded.append(pad)
    if not folded:
        return 0
    for pad in folded:
        graph.node.remove(pad)
    _drop_unused_nodes(graph)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(folded)


def _foldable_conv(pad, amount: np.ndarray | None, readers: dict, outputs: set):
    """The 2-D ``Conv`` that ``pad`` can fold into, or ``None``."""
    mode = next((a.s for a in pad.attribute if a.name == "mode"), b"constant")
    if amount is None or len(amount) != 8 or mode != b"constant" or (len(pad.input) > 2 and pad.input[2]):
        return None  # not a constant zero padding of a 4-D map (a fill value other than 0 may be set)
    if amount[[0, 1, 4, 5]].any() or (amount < 0).any() or pad.output[0] in outputs:
        return None  # pads the batch or channel axes, crops, or is read outside the graph
    users = readers.get(pad.output[0], [])
    if len(users) != 1 or users[0].op_type != "Conv" or users[0].input[0] != pad.output[0]:
        return None
    auto = next((a.s for a in users[0].attribute if a.name == "auto_pad"), b"NOTSET")
    return users[0] if auto == b"NOTSET" else None


def _constant_values(model, names: list[str]) -> dict[str, np.ndarray]:
    """The values of tensors ``names`` that do not depend on the inputs (others are absent): the
    graph is run once on zeros with them as extra outputs, so any chain of constant nodes counts."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    present = {o.name for o in probe.graph.output}
    wanted = [n for n in dict.fromkeys(names) if n not in present]
    probe.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.INT64, None) for n in wanted)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()

    def run(dynamic: int) -> dict[str, np.ndarray]:
        feeds = {i.name: np.zeros([d if isinstance(d, int) else dynamic for d in i.shape], _numpy_type(i.type))
                 for i in inputs}
        return dict(zip(wanted, session.run(wanted, feeds)))

    # a value that changes with the inputs' free sizes is not a constant
    first, second = run(1), run(2)
    return {n: first[n].astype(np.int64) for n in wanted
            if first[n].shape == second[n].shape and np.array_equal(first[n], second[n])}


def _numpy_type(onnx_type: str) -> type:
    return {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(float16)": np.float16}.get(onnx_type,
                                                                                                      np.float32)


def _drop_unused_nodes(graph) -> None:
    """Remove nodes none of whose outputs is read (repeatedly: a chain that fed only them goes too)."""
    while True:
        read = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        dead = [node for node in graph.node if not any(o in read for o in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    produced = {o for node in graph.node for o in node.output}
    for info in [v for v in graph.value_info if v.name not in produced]:
        graph.value_info.remove(info)
