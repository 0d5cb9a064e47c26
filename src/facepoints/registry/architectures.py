"""Architecture name -> (module class, config class): how a card's ``config`` becomes a network."""
from __future__ import annotations

from torch import nn

from ..models import ATPN, DSLPT, ATPNConfig, DSLPTConfig

ARCHITECTURES: dict[str, tuple[type[nn.Module], type]] = {"atpn": (ATPN, ATPNConfig), "dslpt": (DSLPT, DSLPTConfig)}


def build_network(architecture: str, config: dict) -> nn.Module:
    """An untrained network of ``architecture`` built from a config dict."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    module_cls, config_cls = ARCHITECTURES[architecture]
    return module_cls(config_cls(**config))
