"""Atomic checkpoint files (a kill mid-write never corrupts the last good one); using a checkpoint
as a registered model."""
from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import torch


def save_atomic(obj: dict, path: str | Path) -> None:
    """``torch.save`` to a temporary file, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    """A ``torch.save``d dictionary (training checkpoint or plain state dict); ``ValueError`` naming
    the file when it is something else (a text file, an image, a truncated download)."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as exc:
        raise ValueError(f"{path}: not a PyTorch checkpoint ({exc})") from exc
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a PyTorch checkpoint (holds a {type(state).__name__})")
    return state


def starting_weights(source: str | Path) -> dict:
    """The network weights a run starts from: a training checkpoint's ``model`` or a plain state
    dict (a path), or a registered model's verified weights (a name from ``list_models``, e.g.
    ``dslpt_lite0_68``), so a config can start from a shipped model on a fresh checkout."""
    from ..registry import get_card, list_models, weights_path

    path = Path(source)
    if path.exists():
        state = load_checkpoint(path)
        if "model" in state:
            return state["model"]
        if state and all(isinstance(v, torch.Tensor) for v in state.values()):
            return state  # a plain state dict, e.g. a shipped weights file
        raise ValueError(f"{path}: neither a training checkpoint nor a state dict")
    if str(source) in list_models():
        return torch.load(weights_path(get_card(str(source))), map_location="cpu", weights_only=True)
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


def register_checkpoint(path: str | Path, work_dir: str | Path, name: str | None = None, onnx: bool = True) -> str:
    """Make a training checkpoint usable by name (``Landmarker(name)``) in this process: its
    weights go to ``work_dir`` as .pt (and .onnx when ``onnx`` and the ``onnx`` package is
    installed) under a card built from the checkpoint's config; a few-shot checkpoint's own
    landmark scheme (``scheme_definition``) is registered too. Returns the name (default:
    ``<run folder>-<file stem>``)."""
    from ..pipeline.export import export_onnx
    from ..registry import ModelCard, load_network, register_model, sha256_of
    from ..schemes import LandmarkScheme, register_scheme

    path, work_dir = Path(path), Path(work_dir)
    state = load_checkpoint(path)
    cfg = state["config"]
    if "scheme_definition" in state:
        register_scheme(LandmarkScheme.from_json(state["scheme_definition"]))
    architecture = cfg.get("architecture", "atpn")
    model = load_network(architecture, cfg["model"], state["model"]).eval()
    name = name or f"{path.parent.name}-{path.stem}"
    work_dir.mkdir(parents=True, exist_ok=True)
    weights = {}
    pt = work_dir / f"{name}.pt"
    torch.save(model.state_dict(), pt)
    weights["torch"] = {"file": pt.name, "sha256": sha256_of(pt)}
    if onnx and importlib.util.find_spec("onnx") is not None:
        onnx_path = work_dir / f"{name}.onnx"
        export_onnx(model, cfg["model"]["input_size"], onnx_path)
        weights["onnx"] = {"file": onnx_path.name, "sha256": sha256_of(onnx_path)}
    card = ModelCard(name=name, architecture=architecture, config=cfg["model"], scheme=cfg["scheme"],
                     crop={"size": cfg["model"]["input_size"], "margin": cfg["crop_margin"]}, weights=weights,
                     summary=f"checkpoint {path}")
    register_model(card, work_dir)
    return name
