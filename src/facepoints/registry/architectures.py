"""Architecture name -> (module class, config class): how a card's ``config`` becomes a network."""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from ..models import ATPN, DSLPT, TUFA, ATPNConfig, DSLPTConfig, TUFAConfig

ARCHITECTURES: dict[str, tuple[type[nn.Module], type]] = {
    "atpn": (ATPN, ATPNConfig), "dslpt": (DSLPT, DSLPTConfig), "tufa": (TUFA, TUFAConfig)}


def build_network(architecture: str, config: dict) -> nn.Module:
    """An untrained network of ``architecture`` built from a config dict."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    module_cls, config_cls = ARCHITECTURES[architecture]
    return module_cls(config_cls(**config))


def trained_stages(architecture: str, config: dict) -> int | None:
    """How many coarse-to-fine stages a model of this config runs by default (DSLPT: its
    stages; TUFA with local refinement: 1 + its refinement stages); ``None``: not coarse-to-fine."""
    if architecture not in ARCHITECTURES:
        return None
    return getattr(ARCHITECTURES[architecture][1](**config), "coarse_to_fine_stages", None)


def load_network(architecture: str, config: dict, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """A network of ``architecture`` holding the weights ``state`` (loaded strictly). Classes with
    a ``from_state_dict`` constructor (TUFA: one alignment set per trained scheme) rebuild from it."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    module_cls, config_cls = ARCHITECTURES[architecture]
    if hasattr(module_cls, "from_state_dict"):
        return module_cls.from_state_dict(config_cls(**config), state)
    model = module_cls(config_cls(**config))
    model.load_state_dict(state)
    return model
