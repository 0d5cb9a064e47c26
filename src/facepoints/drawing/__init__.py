"""Pictures: result overlays and CED curves."""
from .ced import plot_ced
from .overlay import draw_faces

__all__ = ["plot_ced", "draw_faces"]
