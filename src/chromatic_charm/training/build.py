"""A run's data and build phases: the prepared splits, checked against the batch; then seeded networks and
optimisers (a resumed run's state put back), the colour-rebalancing weights, DDP and compile: the ``Run``."""

from __future__ import annotations

import random
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .. import color
from ..config import checkpoints_dir, clean_data_dir
from ..data.dataset import ArraySplit, read_manifest
from ..errors import UserError
from ..models.losses import AB_BINS, ab_histogram, rebalance_weights
from . import distributed
from .config import TrainConfig
from .networks import build_networks, compile_networks, wrap_ddp
from .resume import restore_state, resume_position
from .run import Data, Position, Run


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_colour_histogram(split: ArraySplit, stride: int = 4) -> np.ndarray:
    """a*b* counts of the training photos (every ``stride``-th pixel each way: the distribution, not
    every pixel), for colour rebalancing. Deterministic: each process of a run computes the same."""
    counts = np.zeros((AB_BINS, AB_BINS))
    for start in range(0, len(split), 64):
        rgb = np.asarray(split.array[start:start + 64, ::stride, ::stride], dtype=np.float32) / 255.0
        counts += ab_histogram(color.rgb_to_lab(rgb)[..., 1:])
    return counts


def open_data(config: TrainConfig, world: distributed.World, state: dict | None) -> tuple[TrainConfig, Data]:
    """The prepared splits, checked against the batch; the config with its run name and checkpoint folder."""
    run_name = config.run_name or time.strftime(f"pix2pix-lrG{config.lr_g:g}-lrD{config.lr_d:g}-%Y%m%d-%H%M%S")
    folder = Path(config.data_dir) if config.data_dir else clean_data_dir()
    data = Data(folder, read_manifest(folder), ArraySplit(folder, "train"), ArraySplit(folder, "val"))
    if len(data.train) < config.batch_size * world.size:
        raise UserError(f"only {len(data.train)} training images for batch size {config.batch_size}"
                        + (f" x {world.size} processes" if world.enabled else "")
                        + "; lower --batch-size or prepare more data")
    if len(data.val) == 0:
        raise UserError(f"the val split in '{folder}' is empty; prepare with a larger --val-frac")
    if state is not None and state.get("data_version") not in (None, data.manifest.get("data_version")):
        warnings.warn(f"the run was trained on data version {state['data_version']}, '{folder}' is "
                      f"{data.manifest.get('data_version')}; pass --data with the run's data to continue it as it was",
                      stacklevel=3)
    ckpt_dir = Path(config.checkpoint_dir) if config.checkpoint_dir else checkpoints_dir() / run_name
    return replace(config, run_name=run_name, checkpoint_dir=str(ckpt_dir)), data


def build_run(config: TrainConfig, world, device, state: dict | None, data: Data, say) -> Run:
    """Seeded networks and optimisers (a resumed run's restored), wrapped for DDP and compiled as asked."""
    seed_everything(config.seed)
    if device.type == "cuda":  # the training shapes never change: let cuDNN time its algorithms once
        torch.backends.cudnn.benchmark = True
    built = build_networks(config, device, world, pretrained=state is None)
    position = Position()
    if state is not None:
        restore_state(built.nets, state, device)
        position = resume_position(state, world, say)
    if config.colour_rebalance > 0:
        weights = rebalance_weights(train_colour_histogram(data.train), config.colour_rebalance)
        built.nets.l1_weights = torch.as_tensor(weights, dtype=torch.float32, device=device)
    if world.rank > 0:  # dropout masks of their own (rank 0 keeps the single-process stream)
        torch.manual_seed(config.seed * 1_000_003 + world.rank * 7_919 + position.step)
    if world.enabled:
        wrap_ddp(built.nets, device)
    if config.compile:
        compile_networks(built.nets)
    return Run(config, world, device, data, built, position, say)
