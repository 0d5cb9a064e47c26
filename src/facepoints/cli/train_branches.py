"""``facepoints train-branches CONFIG``: ``facepoints train`` with a branches config (ATPN pose and
face-confidence branches on a frozen landmark network); kept as an alias."""
from __future__ import annotations

import argparse

from . import train

HELP = "train the pose and face-confidence branches on a frozen landmark model (= train with objective: branches)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config, e.g. configs/atpn_lite0_68_branches.yaml")
    p.add_argument("--base", help="override the config's base (registry name or landmark checkpoint)")
    p.add_argument("--output-dir", help="override the config's output_dir")
    p.add_argument("--data-root", help="override the config's data_root")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines only)")


def run(args: argparse.Namespace) -> int:
    return train.run(args, objective="branches")
