"""``facepoints train-branches CONFIG``: ATPN pose and face-confidence branches on a frozen
landmark network; rerun the same command to resume after a kill."""
from __future__ import annotations

import argparse

HELP = "train the pose and face-confidence branches on a frozen landmark model (resumable)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config, e.g. configs/atpn_lite0_68_branches.yaml")
    p.add_argument("--base", help="override the config's base (registry name or landmark checkpoint)")
    p.add_argument("--output-dir", help="override the config's output_dir")
    p.add_argument("--data-root", help="override the config's data_root")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines only)")


def run(args: argparse.Namespace) -> int:
    from ..training.branch_config import BranchConfig
    from ..training.branch_trainer import BranchTrainer

    overrides = {key: getattr(args, key) for key in ("base", "output_dir", "data_root")
                 if getattr(args, key) is not None}
    cfg = BranchConfig.from_yaml(args.config, overrides)  # every value checked before any work
    path = BranchTrainer(cfg, progress=not args.no_progress).run()
    print(f"done: combined checkpoint {path} (package it with `facepoints package RUN --name NAME`)")
    return 0
