"""Atomic checkpoint files (a kill mid-write never corrupts the last good one) that hold plain
types only and load without running code; using a checkpoint as a registered model."""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import pickle
import re
import warnings
from collections import OrderedDict
from enum import Enum
from pathlib import Path, PurePath

import numpy as np
import torch

PLAIN = "only tensors, numbers, strings, lists and dicts are loaded"


class CheckpointError(ValueError):
    """A file that is not a (safe, complete) checkpoint; the message is one line naming the file."""


def plain(obj: object) -> object:
    """``obj`` with numpy scalars / arrays, dataclasses, paths and enums turned into plain types
    (numbers, lists, dicts, str; numpy arrays become tensors), so ``weights_only`` loading reads it;
    ``TypeError`` naming anything else that is not a tensor or plain value."""
    if isinstance(obj, np.generic):  # before float: np.float64 is a float subclass
        return obj.item()
    if isinstance(obj, Enum):
        return plain(obj.value)
    if obj is None or isinstance(obj, (torch.Tensor, torch.dtype, torch.Size)):
        return obj
    for kind in (bool, int, float, str, bytes):  # subclasses (e.g. a named int) as the base type
        if isinstance(obj, kind):
            return kind(obj)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, dict):
        if type(obj) in (dict, OrderedDict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj  # a state dict, kept as it is (with its module versions, ``_metadata``)
        out = {plain(k): plain(v) for k, v in obj.items()}
        return OrderedDict(out) if isinstance(obj, OrderedDict) else out
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(plain(v) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain(dataclasses.asdict(obj))
    if isinstance(obj, PurePath):
        return str(obj)
    raise TypeError(f"cannot store a value of type {type(obj).__name__} in a checkpoint ({PLAIN})")


def save_atomic(obj: dict, path: str | Path) -> None:
    """``torch.save`` of ``plain(obj)`` to a temporary file, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(plain(obj), tmp)
    os.replace(tmp, path)


def _refusal(exc: Exception) -> str:
    """The one-line gist of ``torch.load``'s weights-only refusal (e.g. ``it imports io.open``)."""
    text = " ".join(str(exc).split())
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"it would import {found.group(1)}"
    found = re.search(r"WeightsUnpickler error: (.*?)(?: Please| Check the documentation|$)", text)
    return (found.group(1).rstrip(".") if found else "unsupported pickle content")[:120]


def load_checkpoint(path: str | Path) -> dict:
    """A ``torch.save``d dictionary (training checkpoint or plain state dict), read with
    ``weights_only=True`` (a pickle never runs code here). ``CheckpointError`` (a ``ValueError``,
    one line naming the file) when it is something else (a text file, an image, a truncated
    download) or holds anything but plain types (``refused: not a plain checkpoint``)."""
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the error below says it all
            warnings.simplefilter("ignore")
            state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        weights_only = "WeightsUnpickler" in str(exc) or "Weights only load failed" in str(exc)
        if weights_only and "Unsupported operand" not in str(exc):  # (an unknown opcode: not a pickle at all)
            raise CheckpointError(f"{path}: refused: not a plain checkpoint ({_refusal(exc)}; {PLAIN})") from None
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({' '.join(str(exc).split())[:200]})") from None
    except (EOFError, RuntimeError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (holds a {type(state).__name__})")
    return state


def training_checkpoint(path: str | Path) -> dict:
    """``load_checkpoint`` of a checkpoint written by training (``model`` weights and a ``config``
    with the model section, scheme and crop margin); ``CheckpointError`` saying what it is
    otherwise (e.g. a shipped weights file, which is a plain state dict)."""
    state = load_checkpoint(path)
    if "config" not in state and state and all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: a plain weights file (no training config); give a registered model's name "
                              "(--model NAME) or a training checkpoint such as runs/<name>/best.pt")
    cfg = state.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), dict) or not isinstance(state.get("model"), dict):
        raise CheckpointError(f"{path}: not a training checkpoint (needs 'model' weights and a 'config' with a "
                              "'model' section)")
    if not isinstance(cfg.get("scheme"), str) or not isinstance(cfg.get("crop_margin"), (int, float)):
        raise CheckpointError(f"{path}: its training config lacks the scheme or crop_margin")
    return state


def checkpoint_network(state: dict, path: str | Path) -> tuple[str, torch.nn.Module]:
    """(architecture, network in eval mode) of a ``training_checkpoint``; ``CheckpointError`` (one
    line) when its config or weights do not build that network."""
    from ..registry.architectures import ARCHITECTURES, load_network
    from .config_checks import ConfigError, check_values

    architecture = state["config"].get("architecture", "atpn")
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown architecture {architecture!r} (known: {', '.join(ARCHITECTURES)})")
    try:  # checked before building: a hostile config could ask for a huge network
        check_values(state["config"]["model"], ARCHITECTURES[architecture][1], "model.")
    except ConfigError as exc:
        raise CheckpointError(f"{path}: its config is not valid ({exc})") from None
    try:
        return architecture, load_network(architecture, state["config"]["model"], state["model"]).eval()
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        first = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{path}: its weights and model config do not make a {architecture} network "
                              f"({first})") from None


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
    from ..registry import ModelCard, register_model, sha256_of
    from ..schemes import LandmarkScheme, register_scheme

    path, work_dir = Path(path), Path(work_dir)
    state = training_checkpoint(path)
    cfg = state["config"]
    if "scheme_definition" in state:
        try:
            scheme = LandmarkScheme.from_json(state["scheme_definition"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"{path}: its scheme_definition is not a landmark scheme ({exc!r})") from None
        register_scheme(scheme)
    architecture, model = checkpoint_network(state, path)
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
