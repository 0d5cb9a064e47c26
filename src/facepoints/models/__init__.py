"""Landmark networks: plain ``nn.Module``s mapping crops to normalised coordinates."""
from .atpn import ATPN, ATPNConfig
from .dslpt import DSLPT, MEAN_RADIUS_PER_SPREAD, UNIT_SPREAD_VARIANCE, DSLPTConfig
from .tufa import TUFA, TUFAConfig

__all__ = ["ATPN", "ATPNConfig", "DSLPT", "DSLPTConfig", "TUFA", "TUFAConfig", "UNIT_SPREAD_VARIANCE",
           "MEAN_RADIUS_PER_SPREAD"]
