"""The run -> model contract: a training checkpoint as a typed ``Checkpoint``, saved atomically
(a kill mid-write never corrupts the last good one) with plain types only, and loaded with
``weights_only=True`` (a pickle never runs code here). Needs PyTorch (the ``[train]`` extra).

On disk a checkpoint stays the dictionary training has always written (``model`` weights,
``config`` with the model section, scheme and crop margin, ``epoch``, ``best``, anything else
as extras), so old checkpoints load unchanged."""
from __future__ import annotations

import dataclasses
import os
import pickle
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePath

import numpy as np
import torch

from ..pipeline.crop import CropSpec

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


def architecture_of(config: dict) -> str:
    """The architecture a training config names (configs from before the field: ``atpn``)."""
    return str(config.get("architecture", "atpn"))


def checkpoint_network(state: dict, path: str | Path) -> tuple[str, torch.nn.Module]:
    """(architecture, network in eval mode) of a ``training_checkpoint``; ``CheckpointError`` (one
    line) when its config or weights do not build that network."""
    from .architectures import ARCHITECTURE_NAMES, ARCHITECTURES, load_network
    from .config_checks import ConfigError, check_values

    architecture = architecture_of(state["config"])
    if architecture not in ARCHITECTURE_NAMES:
        raise CheckpointError(f"{path}: unknown architecture {architecture!r} (known: {', '.join(ARCHITECTURE_NAMES)})")
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


@dataclass
class Checkpoint:
    """A training checkpoint, typed: the network ``weights``, the training ``config`` (a plain
    dict as written by ``TrainConfig.to_dict``), the ``epoch`` it ended (0-based) and its ``best``
    validation NME, and every other entry of the file as ``extras`` (optimizer state, branch and
    few-shot records, a new scheme's definition...)."""

    weights: dict
    config: dict
    epoch: int | None = None
    best: float | None = None
    extras: dict = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> "Checkpoint":
        """``training_checkpoint(path)`` as a ``Checkpoint`` (``CheckpointError``, one line, otherwise)."""
        state = dict(training_checkpoint(path))
        return cls(weights=state.pop("model"), config=state.pop("config"), epoch=state.pop("epoch", None),
                   best=state.pop("best", None), extras=state, path=Path(path))

    def save(self, path: str | Path) -> None:
        """Write it atomically in the on-disk layout ``load`` reads (plain types only)."""
        save_atomic({**self.extras, "model": self.weights, "config": self.config, "epoch": self.epoch,
                     "best": self.best}, path)

    @property
    def architecture(self) -> str:
        return architecture_of(self.config)

    @property
    def model_config(self) -> dict:
        """The network section of the config (what a model card stores as ``config``)."""
        return self.config["model"]

    @property
    def scheme(self) -> str:
        return self.config["scheme"]

    @property
    def crop(self) -> CropSpec:
        """The crop the network was trained on."""
        return CropSpec(size=int(self.model_config["input_size"]), margin=float(self.config["crop_margin"]))

    def network(self) -> torch.nn.Module:
        """The network in eval mode (its config checked before it is built)."""
        label = self.path if self.path is not None else "checkpoint"
        return checkpoint_network({"config": self.config, "model": self.weights}, label)[1]
