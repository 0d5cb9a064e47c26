"""Pictures: result overlays, CED curves, pose CED and precision-recall plots, sigma reliability,
the canonical face plane."""
from .branch_plots import plot_pose_ced, plot_precision_recall
from .ced import plot_ced
from .overlay import draw_faces
from .plane import render_plane
from .uncertainty_plot import plot_sigma_reliability

__all__ = ["plot_ced", "draw_faces", "plot_pose_ced", "plot_precision_recall", "render_plane",
           "plot_sigma_reliability"]
