"""Landmark networks: plain ``nn.Module``s mapping crops to normalised coordinates.

The network classes need PyTorch (the ``[train]`` extra) and are imported on first use, so that
``facepoints.models.UNIT_SPREAD_VARIANCE`` and the ONNX inference path never import it.
"""
from importlib import import_module

from .spread import MEAN_RADIUS_PER_SPREAD, UNIT_SPREAD_VARIANCE

__all__ = ["ATPN", "ATPNConfig", "DSLPT", "DSLPTConfig", "TUFA", "TUFAConfig", "UNIT_SPREAD_VARIANCE",
           "MEAN_RADIUS_PER_SPREAD"]

#: class name -> module that defines it (imported on first access)
_LAZY = {"ATPN": "atpn", "ATPNConfig": "atpn", "DSLPT": "dslpt", "DSLPTConfig": "dslpt",
         "TUFA": "tufa", "TUFAConfig": "tufa"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
