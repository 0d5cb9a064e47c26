"""Configuration of ATPN branch training (stages 2 and 3), read from a YAML file."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..datasets.augment import AugmentConfig
from ..datasets.branch_samples import SampleConfig
from .yaml_config import RunConfig


@dataclass(kw_only=True)
class BranchConfig(RunConfig):
    """Frozen landmark network + trainable pose / face-confidence branches.

    ``base``: a registry model name (its shipped landmark weights) or a landmark checkpoint
    written by ``facepoints train``. The validation split is carved from ``train_list`` exactly
    as in landmark training (same ``val_fraction``, file-name hash); ``extra_face_lists`` add
    faces and backgrounds to the face-confidence branch only (at most ``extra_face_limit`` of them).
    ``tracking_epochs`` are the face-confidence branch's epochs (the thesis's "tracking" stage).
    ``clutter_per_positive`` synthetic face-free crops join the background crops as negatives.
    ``stages``: the branches trained (``tracking``, ``pose``); a stage left out is copied, weights
    and validation record, from ``base``, which must have that branch.
    """

    objective: str = "branches"
    name: str = "atpn_lite0_68_branches"
    base: str = "atpn_lite0_68"
    data_root: str = "../shared/data"
    train_list: str = "300W/train.txt"
    val_fraction: float = 0.1
    extra_face_lists: list[str] = field(default_factory=list)
    extra_face_limit: int = 800
    pose_epochs: int = 10
    pose_views: int = 6                 # augmented views of each training face (cached once)
    pose_augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(occlusion=0.2))
    focal_per_side: float = 3.0         # pseudo-label camera (training.pose_labels)
    stages: list[str] = field(default_factory=lambda: ["tracking", "pose"])
    tracking_epochs: int = 5
    positives_per_face: int = 1
    negatives_per_positive: int = 10
    clutter_per_positive: int = 0       # more negatives: synthetic text, blobs, shapes, noise (datasets.clutter)
    samples: SampleConfig = field(default_factory=SampleConfig)
    batch_size: int = 128
    weight_decay: float = 1e-4          # the L2 terms w2, w3 of eq. 3.6 / 3.8
    threads: int = 1

    SECTIONS = {"pose_augment": (AugmentConfig, {}), "samples": (SampleConfig, {"photometric": AugmentConfig})}
