"""Training on several processes (``torchrun``): the process group, each rank's share of every
global batch, and the loss module that ``DistributedDataParallel`` wraps.

Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the one loop joins the process group
(gloo on CPU, nccl on GPU). A config's ``batch_size`` is the global batch: each of the W ranks
takes ``batch_size / W`` samples of every global batch, in the order a single process would see
them, with the same per-sample augmentation seeds, so the learning rate needs no scaling. Rank 0
alone writes logs and checkpoints; every rank resumes from them. Without ``torchrun`` nothing
changes."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn
from torch.utils.data import Sampler


@dataclass(frozen=True)
class Ranks:
    """This process's ``rank`` among ``world`` processes (0 of 1 without ``torchrun``)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """The rank that writes files and prints progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def local_batch(self, batch_size: int) -> int:
        """Each rank's share of a global batch; ``ValueError`` (one line) when it does not divide."""
        if batch_size % self.world:
            raise ValueError(f"batch_size {batch_size} (the global batch) must be a multiple of the "
                             f"{self.world} processes")
        return batch_size // self.world

    def mean(self, value: float) -> float:
        """``value`` averaged over the ranks."""
        if not self.distributed:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        torch.distributed.all_reduce(tensor)
        return float(tensor) / self.world


def join() -> Ranks:
    """The ranks of this process, joining the process group once when started by ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    dist = torch.distributed
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size())


def leave() -> None:
    """Leave the process group (at the end of a command)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


class ShardSampler(Sampler[int]):
    """Rank ``ranks.rank``'s share of each global batch of ``sampler`` (``batch_size`` items, whole
    batches only): items ``[i * B + r * b, i * B + (r + 1) * b)`` of its epoch order, b = B / W."""

    def __init__(self, sampler: Sampler[int], batch_size: int, ranks: Ranks) -> None:
        self.sampler, self.batch_size, self.ranks = sampler, batch_size, ranks
        self.local = ranks.local_batch(batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size * self.local

    def __iter__(self) -> Iterator[int]:
        items = list(self.sampler)
        start = self.ranks.rank * self.local
        for i in range(len(items) // self.batch_size):
            yield from items[i * self.batch_size + start:i * self.batch_size + start + self.local]


class ObjectiveLoss(nn.Module):
    """``objective.loss(model, batch)`` as a module, so that ``DistributedDataParallel`` sees
    every forward an objective makes (``forward_stages``, ``forward_points``...)."""

    def __init__(self, objective, model: nn.Module) -> None:
        super().__init__()
        self.objective, self.model = objective, model

    def forward(self, batch: object) -> torch.Tensor:
        return self.objective.loss(self.model, batch)
