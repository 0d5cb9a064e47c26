"""Model registry: ``list_models()``, ``get_card(name)``, ``create_model(name)``.

Every shipped model has a card (``registry/cards/<name>.json``) naming its architecture
config, weights files with sha256 (checked on load), training data and command, measured
metrics and licence note. A user's own models (``facepoints package``, ``facepoints finetune``)
live in the user folder (``facepoints.home``: ``FACEPOINTS_HOME``) with the same layout and are
listed and loaded like shipped ones; ``register_model`` adds one (a card plus a folder holding its
weights) for this process only, e.g. a checkpoint given with ``--checkpoint``. A coarse-to-fine model ships one ONNX
file per stage count (``onnx_weights_key``). Reading cards and ONNX files needs no PyTorch;
``create_model`` (the PyTorch network) needs the ``[train]`` extra.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..home import user_registry_dir
from ..torch_required import require_torch
from .architectures import ARCHITECTURE_NAMES, build_network, load_network, trained_stages
from .card import ModelCard, WeightsError, sha256_of, verified_path

if TYPE_CHECKING:
    from torch import nn

__all__ = ["ModelCard", "WeightsError", "list_models", "get_card", "create_model", "model_state", "weights_path",
           "register_model", "unregister_model", "DEFAULT_MODEL", "ARCHITECTURES", "ARCHITECTURE_NAMES", "build_network",
           "load_network", "sha256_of", "trained_stages", "onnx_weights_key", "Checkpoint", "CheckpointError",
           "load_trained", "register_checkpoint"]

DEFAULT_MODEL = "atpn_lite0_68"
_CARDS = "facepoints.registry.cards"
_WEIGHTS = "facepoints.registry.weights"
_USER_MODELS: dict[str, tuple[ModelCard, Path]] = {}


_LAZY = {"Checkpoint": "checkpoint", "CheckpointError": "checkpoint", "load_trained": "trained",
         "register_checkpoint": "trained"}


def __getattr__(name: str):  # these import PyTorch: only on first access
    if name == "ARCHITECTURES":
        from .architectures import ARCHITECTURES

        return ARCHITECTURES
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def onnx_weights_key(stages: int | None = None) -> str:
    """The card's ``weights`` key of the ONNX file running ``stages`` coarse-to-fine stages
    (``None``: the model's default, the plain ``onnx`` entry)."""
    return "onnx" if stages is None else f"onnx_stages{int(stages)}"


def _shipped() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(_CARDS).iterdir() if p.name.endswith(".json"))


def _saved() -> list[str]:
    """Names of the models in the user folder (a shipped name there is ignored)."""
    cards = user_registry_dir() / "cards"
    names = {p.name[:-5] for p in cards.glob("*.json")} if cards.is_dir() else set()
    return sorted(names - set(_shipped()))


def list_models() -> list[str]:
    """Names of the shipped models, of the user's saved models and of those added with ``register_model``."""
    return sorted(set(_shipped()) | set(_saved()) | set(_USER_MODELS))


def register_model(card: ModelCard, weights_dir: str | Path) -> None:
    """Make ``card`` (weights files named in it, inside ``weights_dir``) usable by name in this
    process; a shipped model's name cannot be taken."""
    if card.name in _shipped():
        raise ValueError(f"{card.name!r} is a shipped model; register under another name")
    _USER_MODELS[card.name] = (card, Path(weights_dir))


def unregister_model(name: str) -> None:
    """Forget a model added with ``register_model`` (no-op for unknown names)."""
    _USER_MODELS.pop(name, None)


def get_card(name: str) -> ModelCard:
    """The model card of a shipped or registered model; ``KeyError`` naming the known models otherwise."""
    if name in _USER_MODELS:
        return _USER_MODELS[name][0]
    if name not in _shipped() and name in _saved():
        return _saved_card(name)
    return _shipped_card(name)


def _saved_card(name: str) -> ModelCard:
    """A card from the user folder; its few-shot scheme is found by ``get_scheme`` in the same folder."""
    path = user_registry_dir() / "cards" / f"{name}.json"
    try:
        return ModelCard.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"{path}: not a readable model card ({exc}); remove it or package the run again") from None


@lru_cache(maxsize=None)
def _shipped_card(name: str) -> ModelCard:
    if name not in _shipped():
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(list_models()) or '(none)'}")
    return ModelCard.from_json(json.loads(resources.files(_CARDS).joinpath(f"{name}.json").read_text()))


def weights_path(card: ModelCard, runtime: str = "torch") -> Path:
    """Verified path of a card's weights file for ``runtime`` (``torch``, ``onnx`` or an
    ``onnx_weights_key``)."""
    if runtime not in card.weights:
        raise WeightsError(f"model {card.name} ships no {runtime} weights")
    if card.name in _USER_MODELS:
        folder = _USER_MODELS[card.name][1]
        path = folder / card.weights[runtime]["file"]
    elif card.name not in _shipped():
        path = user_registry_dir() / "weights" / card.weights[runtime]["file"]
    else:
        path = Path(str(resources.files(_WEIGHTS).joinpath(card.weights[runtime]["file"])))
    return verified_path(card, path, runtime)


def create_model(name: str = DEFAULT_MODEL, pretrained: bool = True) -> nn.Module:
    """The network of a shipped model, in eval mode, with its verified weights when ``pretrained``
    (needs PyTorch: ``TorchMissingError`` naming the ``[train]`` extra without it)."""
    require_torch(f"the PyTorch network of {name} (create_model)")
    card = get_card(name)
    if not pretrained:
        return build_network(card.architecture, card.config).eval()
    return load_network(card.architecture, card.config, model_state(card)).eval()


def model_state(card: ModelCard) -> dict:
    """A model's verified PyTorch ``state_dict``: from its ``.pt`` file, or from its ONNX file for a
    single-file model (``registry.onnx_state``). Needs PyTorch (and ``onnx`` for a single-file model)."""
    torch = require_torch(f"the PyTorch weights of {card.name}")
    path = weights_path(card, "torch")
    if path.suffix == ".onnx":
        from .onnx_state import state_from_onnx

        return state_from_onnx(path)
    return torch.load(path, map_location="cpu", weights_only=True)
