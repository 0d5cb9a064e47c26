"""Landmark networks: plain ``nn.Module``s mapping crops to normalised coordinates."""
from .atpn import ATPN, ATPNConfig

__all__ = ["ATPN", "ATPNConfig"]
