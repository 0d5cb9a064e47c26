"""PyTorch weights kept inside a model's ONNX file: a *single-file* model ships one ``.onnx`` and no
``.pt`` (``facepoints package --single-file``), which halves its size on disk (TUFA: 21 MB instead
of 41 MB in float16).

``export_onnx(..., named_weights=True)`` exports without constant folding, so every parameter and
buffer the graph reads stays an initializer under its own name (ONNX Runtime still folds and fuses
them when it loads the file, so inference is as fast). ``store_extra_state`` puts the state entries
the graph does not read (mean shapes of other landmark sets, batch-norm counters) into the file's
metadata; ``state_from_onnx`` rebuilds the whole ``state_dict`` from the two. Needs the ``onnx``
package and PyTorch (the ``[train]`` extra)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

#: metadata key of a single-file model's state: the wrapper's name prefix and the entries the graph does not read
STATE_KEY = "facepoints.torch_state"
_HALF_SUFFIX = "__fp16"  # onnx_half.store_weights_half's name for a float16 copy of an initializer
#: the dtypes a stored entry may have (anything else in a file is refused)
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "float64": torch.float64, "int64": torch.int64,
           "int32": torch.int32, "bool": torch.bool}


def store_extra_state(path: str | Path, state: dict[str, torch.Tensor], prefix: str) -> int:
    """Add to the ONNX file at ``path`` the entries of ``state`` that are not initializers named
    ``prefix + key``; returns how many were added. Run it before ``store_weights_half``."""
    import onnx

    model = onnx.load(str(path))
    names = {init.name for init in model.graph.initializer}
    extra = {key: {"dtype": str(value.dtype).removeprefix("torch."), "shape": list(value.shape),
                   "values": value.detach().cpu().reshape(-1).tolist()}
             for key, value in state.items() if prefix + key not in names}
    entry = model.metadata_props.add()
    entry.key, entry.value = STATE_KEY, json.dumps({"prefix": prefix, "keys": list(state), "extra": extra})
    onnx.save(model, str(path))
    return len(extra)


def holds_state(path: str | Path) -> bool:
    """Whether the ONNX file at ``path`` carries a full PyTorch state (``store_extra_state``)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return any(prop.key == STATE_KEY for prop in model.metadata_props)


def state_from_onnx(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` stored in a single-file model's ONNX file (float16-stored weights come
    back as float32); ``ValueError`` when the file carries none."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    meta = next((prop.value for prop in model.metadata_props if prop.key == STATE_KEY), None)
    if meta is None:
        raise ValueError(f"{path}: this ONNX file holds no PyTorch weights (it was not packaged with --single-file)")
    stored = json.loads(meta)
    prefix, extra = stored["prefix"], stored["extra"]
    arrays = {init.name.removesuffix(_HALF_SUFFIX): init for init in model.graph.initializer}
    state: dict[str, torch.Tensor] = {}
    for key in stored["keys"]:
        if key in extra:
            entry = extra[key]
            if entry["dtype"] not in _DTYPES:
                raise ValueError(f"{path}: stored weight {key!r} has an unknown dtype {entry['dtype']!r}")
            state[key] = torch.tensor(entry["values"], dtype=_DTYPES[entry["dtype"]]).reshape(entry["shape"])
            continue
        init = arrays.get(prefix + key)
        if init is None:
            raise ValueError(f"{path}: its stored PyTorch weights lack {key!r}")
        array = numpy_helper.to_array(init)
        state[key] = torch.from_numpy(np.array(array.astype(np.float32) if init.name.endswith(_HALF_SUFFIX) else array))
    return state
