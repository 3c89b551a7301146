"""Data-parallel training on ``torch.distributed``: which share of every batch a process trains.

A run launched by ``torchrun`` (or ``equirec run --nproc N``, which calls it) has one process per
rank; every process loads the same data, builds the same model from the same seed and draws the
same batches, and each trains on its *shard*: rows ``rank, rank + world, ...`` of every batch.
The gradients of the shards' summed losses are summed over the processes
(``all_reduce``) and every process divides by the batch's total count, so a step's gradient is
the one a single process would compute on the whole batch, and the processes' weights stay equal
step by step. Validation runs on rank 0, its score is broadcast so that every process stops at
the same epoch; evaluation, the audit and every file are rank 0's. The backend is NCCL where
CUDA is present (one GPU per local rank), else gloo.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "SINGLE",
    "Shard",
    "all_reduce_sum",
    "backend",
    "broadcast_float",
    "current",
    "init_from_env",
    "leave",
    "local_device",
]


@dataclass(frozen=True)
class Shard:
    """This process's share of every batch: rows ``rank::world``."""

    rank: int = 0
    world: int = 1

    def rows(self, n: int) -> slice:
        """The rows of a batch of ``n`` this process trains."""
        return slice(self.rank, n, self.world)


SINGLE = Shard()
"""The whole batch: one process."""


def _dist() -> object | None:
    """``torch.distributed`` when a process group is up, else ``None``."""
    dist = torch.distributed
    return dist if dist.is_available() and dist.is_initialized() else None


def current() -> Shard:
    """The shard of this process (rank 0 of 1 outside a process group)."""
    dist = torch.distributed
    if _dist() is None:
        return Shard()
    return Shard(rank=dist.get_rank(), world=dist.get_world_size())


def backend() -> str | None:
    """The process group's backend (``gloo``, ``nccl``), or ``None`` outside one."""
    return None if _dist() is None else str(torch.distributed.get_backend())


def init_from_env() -> Shard:
    """Join the process group ``torchrun`` describes in the environment (``WORLD_SIZE`` > 1),
    once; outside such a launch, do nothing."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or _dist() is not None:
        return current()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group(backend=backend)
    return current()


def leave() -> None:
    """Leave the process group, if this process is in one."""
    if _dist() is not None:
        torch.distributed.destroy_process_group()


def local_device() -> torch.device | None:
    """The GPU of this process's local rank in a process group on CUDA, else ``None``."""
    if _dist() is None or not torch.cuda.is_available():
        return None
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def all_reduce_sum(tensors: Sequence[torch.Tensor]) -> None:
    """Sum ``tensors`` over the processes, in place, in one flat message (nothing to do in a
    single process)."""
    if _dist() is None or not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    torch.distributed.all_reduce(flat)
    start = 0
    for t in tensors:
        t.copy_(flat[start : start + t.numel()].view_as(t))
        start += t.numel()


def broadcast_float(value: float, *, src: int = 0) -> float:
    """Rank ``src``'s ``value`` on every process."""
    if _dist() is None:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        tensor = tensor.cuda()
    torch.distributed.broadcast(tensor, src=src)
    return float(tensor.item())
