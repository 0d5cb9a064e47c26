"""The one training loop: seeded, logged, checkpointed every epoch, resumable after a kill, on one
process or several (``torchrun``: ``training.distributed``). What it trains, on which batches and
how it validates is its ``Objective``'s (``training.objective``)."""
from __future__ import annotations

import json
import math
import time

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from .checkpoint import CheckpointError, load_checkpoint, save_atomic
from .distributed import ObjectiveLoss, join
from .objective import Objective


def ema_decay_at(updates: int, decay: float) -> float:
    """The averaging decay after ``updates`` updates: ``min(decay, (1 + n) / (10 + n))``, so early in
    a run the average follows the weights (a fixed 0.999 would still weigh the initial weights by
    0.999 ** n) and spans about the last n / 9 updates until ``decay`` caps it."""
    return min(decay, (1 + updates) / (10 + updates))


def ema_with_warmup(decay: float):
    """``AveragedModel`` update: exponential moving average with ``ema_decay_at``'s warm-up."""
    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], updates: torch.Tensor) -> None:
        if not torch.is_floating_point(averaged[0]):  # integer buffers (BatchNorm's batch counts)
            torch._foreach_copy_(averaged, current)
            return
        torch._foreach_lerp_(averaged, current, 1 - ema_decay_at(int(updates), decay))
    return update


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up then cosine decay to zero."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class Trainer:
    """Runs an ``Objective`` into its run folder: ``last.pt`` (resume), ``best.pt`` (best validation
    score), ``log.jsonl`` and ``config.json`` (files prefixed ``<label>_`` for a labelled objective,
    e.g. ``tracking_last.pt``). Schedule: linear warm-up, then cosine decay (``lr_at``).

    With ``ema_decay`` the validated and saved weights are the moving average of the weights and
    BatchNorm statistics (``raw_model`` in the checkpoint keeps the optimised weights for resuming).
    Under ``torchrun`` the loss runs in ``DistributedDataParallel`` and rank 0 alone writes files.
    """

    def __init__(self, objective: Objective, progress: bool = True) -> None:
        self.objective = objective
        cfg = objective.cfg
        self.dir = objective.run_dir  # created once the data, model and starting weights are in place
        self.ranks = objective.ranks = join()
        self.progress = progress and self.ranks.main
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        self.model = objective.setup()
        self.schedule = objective.schedule()
        self.optimizer = objective.optimizer(objective.parameter_groups(self.model))
        self.start_epoch, self.best, self.best_metrics = 0, float("inf"), {}
        prefix = f"{objective.label}_" if objective.label else ""
        self.last_path, self.best_path = self.dir / f"{prefix}last.pt", self.dir / f"{prefix}best.pt"
        state = load_checkpoint(self.last_path) if self.last_path.exists() else None
        if state is not None and not objective.resumable(state, self.last_path):
            state = None  # (the objective says why)
        if state is None:
            objective.initialise(self.model)
        decay = self.schedule.ema_decay
        self.ema = (AveragedModel(self.model, multi_avg_fn=ema_with_warmup(decay), use_buffers=True)
                    if decay else None)
        if state is not None:
            self._resume(state)
        # every forward an objective makes runs inside DDP (gradients averaged over the ranks)
        self.step_module = (DistributedDataParallel(ObjectiveLoss(objective, self.model), find_unused_parameters=True)
                            if self.ranks.distributed else None)
        if self.ranks.main:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1, default=str))

    @property
    def label(self) -> str:
        """``tracking `` before a labelled objective's progress lines."""
        return f"{self.objective.label} " if self.objective.label else ""

    def _resume(self, state: dict) -> None:
        path, obj = self.last_path, self.objective
        try:
            obj.saved_module(self.model).load_state_dict(state.get("raw_model", state[obj.weights_key]))
            if self.ema is not None:
                obj.saved_module(self.ema.module).load_state_dict(state[obj.weights_key])
                self.ema.n_averaged.fill_(state.get("ema_updates", 1))
            self.optimizer.load_state_dict(state["optimizer"])
            epoch, best = state["epoch"], state["best"]
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or not isinstance(best, (int, float)):
                raise ValueError(f"epoch {epoch!r:.40} / best {best!r:.40} are not an epoch index and a score")
            best_metrics = dict(state.get("best_metrics") or {})
        except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
            first = " ".join(str(exc).split())[:160]
            raise CheckpointError(f"{path}: cannot resume this run from it ({first}); {obj.resume_hint()}") from None
        self.start_epoch, self.best, self.best_metrics = epoch + 1, float(best), best_metrics
        self.say(f"{self.label}resumed {path} at epoch {self.start_epoch} "
                 f"(best: {obj.describe_best(self.best, best_metrics)})")

    def say(self, line: str) -> None:
        """Print a progress line (rank 0 only)."""
        if self.ranks.main:
            print(line, flush=True)

    @property
    def evaluated_model(self) -> torch.nn.Module:
        """The weights that are validated and saved: the moving average when enabled."""
        return self.model if self.ema is None else self.ema.module

    def _state(self, epoch: int) -> dict:
        obj = self.objective
        state = {obj.weights_key: obj.saved_module(self.evaluated_model).state_dict(),
                 "optimizer": self.optimizer.state_dict(), "epoch": epoch, "best": self.best,
                 "best_metrics": self.best_metrics}
        config = obj.config_record()
        if config is not None:
            state["config"] = config
        state.update(obj.checkpoint_extras())
        if self.ema is not None:
            state["raw_model"] = obj.saved_module(self.model).state_dict()
            state["ema_updates"] = int(self.ema.n_averaged)
        return state

    def train_epoch(self, epoch: int) -> float:
        """One epoch of optimiser steps; returns the mean training loss."""
        obj, schedule = self.objective, self.schedule
        steps, batches = obj.batches(epoch)
        total, warmup = schedule.epochs * steps, schedule.warmup_epochs * steps
        obj.train_mode(self.model)
        losses = []
        bar = tqdm(batches, total=steps, desc=f"{self.label}epoch {epoch + 1}/{schedule.epochs}", leave=False,
                   disable=not self.progress)
        for i, batch in enumerate(bar):
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(epoch * steps + i, total, warmup, schedule.lr) * group.get("lr_scale", 1.0)
            loss = self.step_module(batch) if self.step_module is not None else obj.loss(self.model, batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        return self.ranks.mean(float(np.mean(losses)) if losses else float("nan"))

    def run(self) -> float:
        """Train to the schedule's epochs; returns the best validation score (``best_metrics`` has
        its metrics)."""
        obj, epochs = self.objective, self.schedule.epochs
        for epoch in range(self.start_epoch, epochs):
            t0 = time.time()
            loss = self.train_epoch(epoch)
            metrics = obj.validate(self.evaluated_model)
            score = obj.score(metrics)
            # without validation faces every epoch counts as the best so far (best.pt = last.pt)
            improved = not score >= self.best
            if improved:
                self.best, self.best_metrics = score, {**metrics, "epoch": epoch + 1}
            if not self.ranks.main:
                continue
            save_atomic(self._state(epoch), self.last_path)
            if improved:
                save_atomic(self._state(epoch), self.best_path)
            row = {"epoch": epoch + 1, "train_loss": loss, **obj.log_fields(metrics, self.best),
                   "seconds": round(time.time() - t0, 1), "lr": self.optimizer.param_groups[0]["lr"]}
            with open(self.dir / "log.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            self.say(f"{self.label}epoch {epoch + 1}/{epochs} loss {loss:.4f} {obj.describe(metrics)}"
                     f"{' *' if improved else ''} ({row['seconds']} s)")
        return self.best
