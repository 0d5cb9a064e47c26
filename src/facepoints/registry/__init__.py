"""Model registry: ``list_models()``, ``get_card(name)``, ``create_model(name)``.

Every shipped model has a card (``registry/cards/<name>.json``) naming its architecture
config, weights files with sha256 (checked on load), training data and command, measured
metrics and licence note.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from .architectures import ARCHITECTURES, build_network
from .card import ModelCard, WeightsError, sha256_of, verified_path

__all__ = ["ModelCard", "WeightsError", "list_models", "get_card", "create_model", "weights_path",
           "DEFAULT_MODEL", "ARCHITECTURES", "build_network", "sha256_of"]

DEFAULT_MODEL = "atpn_lite0_68"
_CARDS = "facepoints.registry.cards"
_WEIGHTS = "facepoints.registry.weights"


def list_models() -> list[str]:
    """Names of the shipped models."""
    return sorted(p.name[:-5] for p in resources.files(_CARDS).iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def get_card(name: str) -> ModelCard:
    """The model card of a shipped model; ``KeyError`` naming the known models otherwise."""
    if name not in list_models():
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(list_models()) or '(none)'}")
    return ModelCard.from_json(json.loads(resources.files(_CARDS).joinpath(f"{name}.json").read_text()))


def weights_path(card: ModelCard, runtime: str = "torch") -> Path:
    """Verified path of a card's weights file for ``runtime`` (``torch`` or ``onnx``)."""
    if runtime not in card.weights:
        raise WeightsError(f"model {card.name} ships no {runtime} weights")
    path = Path(str(resources.files(_WEIGHTS).joinpath(card.weights[runtime]["file"])))
    return verified_path(card, path, runtime)


def create_model(name: str = DEFAULT_MODEL, pretrained: bool = True) -> nn.Module:
    """The network of a shipped model, in eval mode, with its verified weights when ``pretrained``."""
    card = get_card(name)
    model = build_network(card.architecture, card.config)
    if pretrained:
        state = torch.load(weights_path(card, "torch"), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    return model.eval()
