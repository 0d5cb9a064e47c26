"""Trained models by reference: ``load_trained`` takes a registered model's name, a training
checkpoint file or a run folder; ``register_checkpoint`` makes a checkpoint usable by name in this
process. Checkpoints need PyTorch (the ``[train]`` extra); names do not."""
from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import torch

from .export import export_model_files
from ..schemes import LandmarkScheme, register_scheme
from . import list_models, register_model, sha256_of
from .card import ModelCard
from .checkpoint import Checkpoint, CheckpointError


def register_checkpoint(path: str | Path, work_dir: str | Path, name: str | None = None, onnx: bool = True) -> str:
    """Make a training checkpoint usable by name (``Landmarker(name)``) in this process: its
    weights go to ``work_dir`` as .pt (and ONNX files, one per stage count, when ``onnx`` and the
    ``onnx`` package is installed) under a card built from the checkpoint (``ModelCard.from_checkpoint``); a few-shot
    checkpoint's own landmark scheme (``scheme_definition``) is registered too. Returns the name
    (default: ``<run folder>-<file stem>``)."""
    path, work_dir = Path(path), Path(work_dir)
    checkpoint = Checkpoint.load(path)
    register_checkpoint_scheme(checkpoint)
    model = checkpoint.network()
    name = name or f"{path.parent.name}-{path.stem}"
    work_dir.mkdir(parents=True, exist_ok=True)
    pt = work_dir / f"{name}.pt"
    torch.save(model.state_dict(), pt)
    weights = {"torch": {"file": pt.name, "sha256": sha256_of(pt)}}
    if onnx and importlib.util.find_spec("onnx") is not None:  # one file per stage count, as shipped
        weights.update(export_model_files(model, checkpoint.crop.size, work_dir, name))
    register_model(ModelCard.from_checkpoint(checkpoint, name, weights, summary=f"checkpoint {path}"), work_dir)
    return name


def register_checkpoint_scheme(checkpoint: Checkpoint) -> LandmarkScheme | None:
    """Register a few-shot checkpoint's own landmark scheme (``scheme_definition``); ``None`` without one."""
    definition = checkpoint.extras.get("scheme_definition")
    if definition is None:
        return None
    try:
        scheme = LandmarkScheme.from_json(definition)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{checkpoint.path}: its scheme_definition is not a landmark scheme ({exc!r})") from None
    register_scheme(scheme)
    return scheme


def checkpoint_file(ref: str | Path) -> Path:
    """The checkpoint file ``ref`` names: the file itself, or a run folder's ``best.pt``."""
    path = Path(ref)
    if path.is_dir():
        if not (path / "best.pt").is_file():
            raise CheckpointError(f"{path}: a folder without best.pt (give a run folder or a checkpoint file)")
        return path / "best.pt"
    return path


def load_trained(ref: str | Path, work_dir: str | Path | None = None, onnx: bool = True) -> str:
    """The registry name of a trained model given as a registered model's name, a training
    checkpoint file (e.g. ``runs/<name>/best.pt``) or a run folder (its ``best.pt``), for
    ``Landmarker(name)``. A checkpoint is registered in this process with its weights in
    ``work_dir`` (default: a new temporary folder), as ONNX too when ``onnx`` (and the ``onnx``
    package is installed). ``CheckpointError`` (one line) otherwise."""
    if isinstance(ref, str) and ref in list_models():
        return ref
    path = checkpoint_file(ref)
    if not path.exists():
        raise CheckpointError(f"{ref}: neither a registered model ({', '.join(list_models())}) nor a checkpoint "
                              "file or run folder")
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="facepoints-"))
    return register_checkpoint(path, work, name=f"{path.parent.name}-{path.stem}", onnx=onnx)
