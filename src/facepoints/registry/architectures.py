"""Architecture name -> (module class, config class): how a card's ``config`` becomes a network.

The network classes need PyTorch (the ``[train]`` extra): they are imported on first use, so
reading cards and running ONNX files never imports it. ``ARCHITECTURES`` itself is built on
first access."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from ..models.capabilities import DECLARED, capabilities
from ..torch_required import require_torch

if TYPE_CHECKING:
    import torch
    from torch import nn

#: the architectures a card may name: those with declared capabilities (``models.capabilities``)
ARCHITECTURE_NAMES = tuple(DECLARED)


def _architectures() -> dict[str, tuple[type, type]]:
    require_torch("building a network")
    from ..models import ATPN, DSLPT, TUFA, ATPNConfig, DSLPTConfig, TUFAConfig

    return {"atpn": (ATPN, ATPNConfig), "dslpt": (DSLPT, DSLPTConfig), "tufa": (TUFA, TUFAConfig)}


def __getattr__(name: str):  # ARCHITECTURES: imports the networks (and PyTorch) on first access
    if name == "ARCHITECTURES":
        return _architectures()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _classes(architecture: str) -> tuple[type, type]:
    if architecture not in ARCHITECTURE_NAMES:
        raise KeyError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURE_NAMES)}")
    return _architectures()[architecture]


def build_network(architecture: str, config: dict) -> nn.Module:
    """An untrained network of ``architecture`` built from a config dict."""
    module_cls, config_cls = _classes(architecture)
    return module_cls(config_cls(**config))


def trained_stages(architecture: str, config: dict) -> int | None:
    """How many coarse-to-fine stages a model of this config runs by default (its declared
    ``capabilities(architecture, config).stages``); ``None``: not coarse-to-fine. No PyTorch needed;
    it agrees with the config classes' ``coarse_to_fine_stages`` (tested)."""
    return capabilities(architecture, config).stages


def load_network(architecture: str, config: dict, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """A network of ``architecture`` holding the weights ``state`` (loaded strictly). Classes with
    a ``from_state_dict`` constructor (TUFA: one alignment set per trained scheme) rebuild from it."""
    module_cls, config_cls = _classes(architecture)
    if hasattr(module_cls, "from_state_dict"):
        return module_cls.from_state_dict(config_cls(**config), state)
    model = module_cls(config_cls(**config))
    model.load_state_dict(state)
    return model
