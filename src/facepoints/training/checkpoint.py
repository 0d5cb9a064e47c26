"""Where a training run's weights start (``starting_weights``, ``load_grown_state``). The checkpoint
file format, its safe loader and ``register_checkpoint`` live in ``facepoints.registry``
(``registry.checkpoint``, ``registry.trained``); they are re-exported here for old imports."""
from __future__ import annotations

from pathlib import Path

import torch

from ..registry.checkpoint import (PLAIN, Checkpoint, CheckpointError, checkpoint_network, load_checkpoint, plain,
                                   save_atomic, training_checkpoint)
from ..registry.trained import register_checkpoint

__all__ = ["PLAIN", "Checkpoint", "CheckpointError", "checkpoint_network", "load_checkpoint", "plain", "save_atomic",
           "training_checkpoint", "register_checkpoint", "starting_weights", "load_grown_state", "load_shared_state"]


def starting_weights(source: str | Path) -> dict:
    """The network weights a run starts from: a training checkpoint's ``model`` or a plain state
    dict (a path), or a registered model's verified weights (a name from ``list_models``, e.g.
    ``dslpt_lite0_68``), so a config can start from a shipped model on a fresh checkout."""
    from ..registry import get_card, list_models, model_state

    path = Path(source)
    if path.exists():
        state = load_checkpoint(path)
        if "model" in state:
            return state["model"]
        if state and all(isinstance(v, torch.Tensor) for v in state.values()):
            return state  # a plain state dict, e.g. a shipped weights file
        raise ValueError(f"{path}: neither a training checkpoint nor a state dict")
    if str(source) in list_models():
        return model_state(get_card(str(source)))
    raise FileNotFoundError(f"{source}: neither a checkpoint file nor a registered model "
                            f"(known: {', '.join(list_models())})")


def load_grown_state(model: torch.nn.Module, state: dict) -> list[str]:
    """Load ``state`` into ``model``, which may have grown modules since (e.g. a TUFA with a
    local refiner started from one without): returns the model's keys ``state`` lacks, which
    keep their fresh initialisation. Keys ``model`` lacks, or shapes that differ, are errors."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise KeyError(f"the checkpoint has weights this model lacks: {', '.join(unexpected[:5])}")
    return list(missing)


def load_shared_state(model: torch.nn.Module, state: dict) -> tuple[list[str], list[str]]:
    """Load only the tensors of ``state`` whose name and shape ``model`` shares (e.g. a trained
    network under a new head): returns (the model's keys left fresh, the checkpoint's keys dropped)."""
    own = model.state_dict()
    shared = {key: value for key, value in state.items() if key in own and own[key].shape == value.shape}
    if not shared:
        raise KeyError("the checkpoint shares no weights (same name and shape) with this model")
    model.load_state_dict(shared, strict=False)
    return [key for key in own if key not in shared], [key for key in state if key not in shared]
