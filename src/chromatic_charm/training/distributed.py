"""Training on several processes with torchrun and DistributedDataParallel (DDP).

``torchrun`` starts one process per GPU (or per CPU slot with the gloo backend) and tells each its
place through the environment (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...). The
trainer reads it here: with a world of one it is the ordinary single-process run, unchanged.

What DDP changes, and where:
- every process trains on its own share of each global batch (``EpochBatchSampler`` with rank and
  world size), and DDP averages the gradients, so a step of N processes with batch B is one
  optimiser step on N x B images;
- rank 0 alone talks to MLflow, validates, writes checkpoints and logs the model; the logged losses
  are averaged over the ranks;
- a stop (SIGTERM) is agreed on by all ranks at the next metric upload (every ``log_every``
  steps), so none is left waiting for a gradient exchange with a process that has gone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
from torch import distributed as dist

from ..devices import resolve_device
from ..errors import UserError


@dataclass(frozen=True)
class World:
    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def enabled(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> World:
    """This process's place, from the variables torchrun sets; a world of one without them."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise UserError("WORLD_SIZE, RANK and LOCAL_RANK must be integers; start distributed training "
                        "with torchrun (see docs/training.md, 'Several GPUs or machines')") from None
    if size < 1 or not 0 <= rank < size:
        raise UserError(f"RANK {rank} is outside a world of {size}; start distributed training with torchrun")
    return World(rank=rank, local_rank=local_rank, size=size)


def device_for(world: World, requested: str) -> torch.device:
    """The device of this rank: its own GPU (cuda:LOCAL_RANK) when CUDA is used, else the CPU."""
    device = resolve_device(requested)
    if device.type == "cuda":
        if world.enabled:
            if world.local_rank >= torch.cuda.device_count():
                raise UserError(f"LOCAL_RANK {world.local_rank} but only {torch.cuda.device_count()} GPU(s) here; "
                                "start at most one process per GPU (torchrun --nproc_per_node)")
            device = torch.device("cuda", world.local_rank)
        if device.index is not None:
            torch.cuda.set_device(device)
    return device


def init(world: World, device: torch.device, timeout_minutes: float = 30) -> bool:
    """Join the process group (NCCL on GPUs, gloo on CPUs); True when this call created it."""
    if not world.enabled or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, rank=world.rank, world_size=world.size,
                                timeout=timedelta(minutes=timeout_minutes))
    except ValueError as exc:  # e.g. MASTER_ADDR missing: not started by torchrun
        raise UserError(f"could not join the process group ({exc}); start distributed training with "
                        "torchrun, e.g. `torchrun --nproc_per_node 2 -m chromatic_charm train ...`") from None
    return True


def shutdown(created: bool) -> None:
    if created and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(world: World, flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any of them."""
    if not world.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def barrier(world: World) -> None:
    """Every rank waits here for all others (after rank 0 wrote a checkpoint, before a stop)."""
    if world.enabled:
        dist.barrier()


def mean_over_ranks(world: World, tensor: torch.Tensor) -> torch.Tensor:
    """The element-wise mean of ``tensor`` over all ranks (every rank must call this)."""
    if not world.enabled:
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor / world.size


def sum_over_ranks(world: World, value: int, device: torch.device) -> int:
    if not world.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return int(tensor.item())


def broadcast(world: World, value):
    """Rank 0's ``value`` (any picklable object) on every rank."""
    if not world.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
