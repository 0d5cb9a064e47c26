"""Pictures: result overlays, CED curves, pose CED and precision-recall plots, sigma reliability,
few-shot curves, the canonical face plane."""
from .branch_plots import plot_pose_ced, plot_precision_recall
from .ced import plot_ced
from .few_shot_plot import plot_few_shot
from .overlay import draw_faces
from .plane import render_plane
from .uncertainty_plot import plot_sigma_reliability

__all__ = ["plot_ced", "draw_faces", "plot_pose_ced", "plot_precision_recall", "render_plane",
           "plot_sigma_reliability", "plot_few_shot"]
