"""``facepoints train CONFIG``: train a model; rerun the same command to resume after a kill."""
from __future__ import annotations

import argparse

HELP = "train a model from a YAML config (checkpoints + log in output_dir/name; resumable)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config, e.g. configs/atpn_lite0_68.yaml")
    p.add_argument("--output-dir", help="override the config's output_dir")
    p.add_argument("--epochs", type=int, help="override the config's epochs (on resume this also "
                   "stretches the cosine learning-rate schedule of the remaining epochs)")
    p.add_argument("--data-root", help="override the config's data_root")
    p.add_argument("--threads", type=int, help="override the config's CPU threads (1 is steadier on a busy machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines only)")


def run(args: argparse.Namespace) -> int:
    from ..training.config import TrainConfig
    from ..training.trainer import Trainer

    overrides = {key: getattr(args, key) for key in ("output_dir", "epochs", "data_root", "threads")
                 if getattr(args, key) is not None}
    cfg = TrainConfig.from_yaml(args.config, overrides)  # every value checked before any work
    best = Trainer(cfg, progress=not args.no_progress).run()
    shown = f"best validation NME {100 * best:.3f} %" if best == best else "no validation faces (best.pt = last epoch)"
    print(f"done: {shown}; checkpoints in {cfg.run_dir}")
    return 0
