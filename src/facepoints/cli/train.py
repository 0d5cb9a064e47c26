"""``facepoints train CONFIG``: train a model (landmarks, branches or few-shot fine-tuning, as the
config's ``objective`` says); rerun the same command to resume after a kill."""
from __future__ import annotations

import argparse

HELP = ("train from a YAML config: landmarks, pose / face-confidence branches (objective: branches) or a "
        "few-shot fine-tuning (objective: finetune); checkpoints + log in output_dir/name; resumable")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config, e.g. configs/atpn_lite0_68.yaml")
    p.add_argument("--output-dir", help="override the config's output_dir")
    p.add_argument("--epochs", type=int, help="override the config's epochs (on resume this also "
                   "stretches the cosine learning-rate schedule of the remaining epochs)")
    p.add_argument("--data-root", help="override the config's data_root")
    p.add_argument("--base", help="override a branches or finetune config's base (registry name or checkpoint)")
    p.add_argument("--threads", type=int, help="override the config's CPU threads (1 is steadier on a busy machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines only)")


def overrides_of(args: argparse.Namespace, keys: tuple[str, ...]) -> dict:
    """The options among ``keys`` given on the command line (config field -> value)."""
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def run_config(cfg, progress: bool) -> str:
    """Train ``cfg`` (any config of ``training.config.CONFIGS``); returns the closing line."""
    from ..training.branch_config import BranchConfig
    from ..training.finetune_config import FinetuneConfig

    if isinstance(cfg, BranchConfig):
        from ..training.branch_objective import train_branches

        path = train_branches(cfg, progress)
        return f"done: combined checkpoint {path} (package it with `facepoints package RUN --name NAME`)"
    if isinstance(cfg, FinetuneConfig):
        from ..training.finetune import finetune
        from .finetune import summary

        return summary(cfg, finetune(cfg, progress))
    from ..training.landmark_objective import landmark_objective
    from ..training.trainer import Trainer

    best = Trainer(landmark_objective(cfg), progress).run()
    shown = f"best validation NME {100 * best:.3f} %" if best == best else "no validation faces (best.pt = last epoch)"
    return f"done: {shown}; checkpoints in {cfg.run_dir}"


def run(args: argparse.Namespace, objective: str | None = None) -> int:
    """Under ``torchrun`` each process runs this; rank 0 alone writes files and the closing line."""
    from ..training.config import load_config
    from ..training.distributed import join, leave

    overrides = overrides_of(args, ("output_dir", "epochs", "data_root", "threads", "base"))
    cfg = load_config(args.config, overrides, objective)  # every value checked before any work
    try:
        closing = run_config(cfg, progress=not args.no_progress)
        if join().main:
            print(closing)
    finally:
        leave()
    return 0
