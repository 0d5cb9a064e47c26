"""The training configs' rules for the up-front config checks (``registry.config_checks`` holds the
checker and the network configs' rules; this module adds the rest to its ``RULES`` table)."""
from __future__ import annotations

from ..registry.config_checks import (INPUT_SIZE, RULES, SEED, THREADS, ConfigError, Rule, at_least, between,
                                      check_values, conform, describe, every, folder_name, fraction,
                                      known_architectures, known_schemes, non_empty, one_of, pair, positive)

__all__ = ["ConfigError", "Rule", "RULES", "check_values", "conform", "describe", "SEED", "THREADS", "INPUT_SIZE",
           "at_least", "between", "positive", "fraction", "one_of", "folder_name", "pair", "every", "non_empty"]


def _losses() -> list[str]:
    from .losses import LOSSES
    return list(LOSSES)


_PROBABILITIES = {k: fraction() for k in ("flip", "shear_prob", "grey", "occlusion", "brightness_prob",
                                          "face_occluder", "border_prob", "border_max", "max_iou")}

def _objectives() -> list[str]:
    from .config import CONFIGS
    return list(CONFIGS)


RULES.update({
    "RunConfig": {"objective": one_of(_objectives), "name": folder_name(), "batch_size": at_least(1),
                  "lr": at_least(0.0), "weight_decay": at_least(0.0), "seed": SEED, "threads": THREADS},
    "TrainConfig": {
        "train_lists": non_empty(), "val_fraction": fraction(high_open=True),
        "list_repeats": every(at_least(1)), "scheme": one_of(known_schemes),
        "architecture": one_of(known_architectures),
        "crop_margin": at_least(1.0), "loss": one_of(_losses), "nll_beta": fraction(),
        "simcc_sigma": positive(), "simcc_weight": at_least(0.0), "heatmap_sigma": positive(),
        "heatmap_weight": at_least(0.0),
        "withhold": every(at_least(0)), "epochs": at_least(1), "backbone_lr_scale": positive(),
        "warmup_epochs": at_least(0), "ema_decay": fraction(high_open=True, low_open=True), "workers": between(0, 64)},
    "BranchConfig": {
        "base": ((lambda v: v != ""), "a registry model name or a checkpoint path"),
        "val_fraction": fraction(high_open=True, low_open=True),
        "extra_face_limit": at_least(0), "pose_epochs": at_least(1), "pose_views": at_least(1),
        "focal_per_side": positive(), "tracking_epochs": at_least(1), "positives_per_face": at_least(1),
        "negatives_per_positive": at_least(0), "clutter_per_positive": at_least(0), "lr": positive(),
        "stages": ((lambda v: len(v) > 0 and set(v) <= {"tracking", "pose"}), "one or both of tracking, pose")},
    "FinetuneConfig": {
        "epochs": at_least(1), "epoch_samples": at_least(1), "warmup_epochs": at_least(0),
        "keep_fraction": fraction(low_open=True), "limit": at_least(1), "draw_seed": SEED, "workers": between(0, 64)},
    "AugmentConfig": {**_PROBABILITIES, "rotation_deg": at_least(0.0), "scale": fraction(high_open=True),
                      "translation": fraction(high_open=True), "box_jitter": fraction(high_open=True),
                      "shear": at_least(0.0), "occlusion_max": fraction(low_open=True),
                      "occlusion_blocks": at_least(1), "brightness": fraction()},
    "SampleConfig": {**_PROBABILITIES, "jitter": fraction(high_open=True), "scale": fraction(high_open=True),
                     "rotation_deg": at_least(0.0), "neg_scale": pair()},
})
