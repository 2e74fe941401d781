"""What a training run's phases share: the ``Run`` (its config, place, data, networks and MLflow logger), its
``Position`` (where it is: what a checkpoint saves, held to the step limit and the CPU budget), and the
checkpoint ``Run.save`` writes."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..data.dataset import ArraySplit
from . import checkpoint, distributed
from .config import TrainConfig
from .networks import Built
from .step import Networks


@dataclass
class Data:
    """The prepared data a run trains and validates on (``build.open_data``)."""

    folder: Path
    manifest: dict
    train: ArraySplit
    val: ArraySplit


@dataclass
class Position:
    """Where the run is; saved in every checkpoint, restored on resume."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    val_l1: float | None = None
    best_val_l1: float | None = None
    cpu_before: float = 0.0  # CPU seconds the run spent before this process resumed it
    cpu_start: float | None = None  # time.process_time() when this process's loop started
    images_seen: int = 0  # by this process, since it started

    def start_clock(self) -> None:
        """The CPU budget counts the training loop's CPU time (all threads), carried over a resume."""
        self.cpu_start = time.process_time()

    def cpu_seconds(self) -> float:
        return self.cpu_before + (time.process_time() - self.cpu_start if self.cpu_start is not None else 0.0)

    def reached(self, config: TrainConfig) -> bool:
        return config.max_steps is not None and self.step >= config.max_steps

    def over_budget(self, config: TrainConfig) -> bool:
        return config.max_cpu_minutes is not None and self.cpu_seconds() >= 60.0 * config.max_cpu_minutes


@dataclass
class Run:
    """Everything one training run holds."""

    config: TrainConfig
    world: distributed.World
    device: torch.device
    data: Data
    built: Built
    position: Position
    say: object
    logger: object = None
    run_id: str | None = None

    @property
    def nets(self) -> Networks:
        return self.built.nets

    @property
    def ckpt_dir(self) -> Path:
        return Path(self.config.checkpoint_dir)

    def save(self, name: str = checkpoint.LAST, *, epoch: int | None = None, batch_in_epoch: int | None = None) -> Path:
        """The run's state (rank 0 writes it, atomically); ``epoch``/``batch_in_epoch`` default to the position."""
        p, path = self.position, self.ckpt_dir / name
        if self.world.is_main:
            state = _state(self.nets, self.config, self.built.gen_cfg, self.built.disc_cfg, step=p.step,
                           epoch=p.epoch if epoch is None else epoch,
                           batch_in_epoch=p.batch_in_epoch if batch_in_epoch is None else batch_in_epoch,
                           run_id=self.run_id, val_l1=p.val_l1, device=self.device, world_size=self.world.size,
                           data_version=self.data.manifest.get("data_version"))
            checkpoint.save_atomic({**state, "cpu_seconds": p.cpu_seconds(), "best_val_l1": p.best_val_l1}, path)
        return path


def _state(nets: Networks, config, gen_cfg, disc_cfg, *, step, epoch, batch_in_epoch, run_id, val_l1,
           device: torch.device, world_size=1, data_version=None) -> dict:
    state = {
        "format": checkpoint.FORMAT,
        "generator_config": asdict(gen_cfg),
        "discriminator_config": asdict(disc_cfg),
        "train_config": asdict(config),
        "generator": nets.generator.state_dict(),
        "discriminator": nets.discriminator.state_dict(),
        "opt_g": nets.opt_g.state_dict(),
        "opt_d": nets.opt_d.state_dict(),
        "scaler": nets.scaler.state_dict() if nets.scaler is not None else None,
        "step": step,
        "epoch": epoch,
        "batch_in_epoch": batch_in_epoch,
        "run_id": run_id,
        "val_l1": val_l1,
        "world_size": world_size,
        "data_version": data_version,
        "rng_torch": torch.get_rng_state(),
    }
    if device.type == "cuda":  # this process's GPU only: the run may resume on a machine with fewer
        state["rng_cuda"] = torch.cuda.get_rng_state(device)
    return state
