"""Landmark networks: plain ``nn.Module``s mapping crops to normalised coordinates."""
from .atpn import ATPN, ATPNConfig
from .dslpt import DSLPT, DSLPTConfig

__all__ = ["ATPN", "ATPNConfig", "DSLPT", "DSLPTConfig"]
