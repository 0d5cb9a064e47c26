"""Halving an ONNX file: float32 weights stored as float16 behind a Cast. Needs the ``onnx``
package (the ``[train]`` extra), not PyTorch, so ``facepoints export --fp16`` works on the shipped
ONNX files without it."""
from __future__ import annotations

from pathlib import Path


def store_weights_half(path: str | Path, min_elements: int = 256) -> int:
    """Rewrite the ONNX file at ``path`` so that every float32 initializer with at least
    ``min_elements`` values is stored as float16 and cast back to float32 at the graph's start.
    Returns the number of initializers converted."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph, casts, kept = model.graph, [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}__fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                      name=f"{init.name}__to_fp32"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(casts)
