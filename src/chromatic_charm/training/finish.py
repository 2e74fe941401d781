"""The ends of an epoch and of a run: validation (the val L1 and a sample grid), best.pt, then the last
checkpoint, the CPU time, the generator's upload and the ``TrainResult``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import color
from ..data.dataset import ArraySplit, to_model_batch
from . import checkpoint, distributed
from .config import TrainConfig
from .run import Run
from .track import log_model


@dataclass
class TrainResult:
    run_id: str
    steps: int
    epochs_done: int
    val_l1: float | None
    checkpoint: Path
    model_uri: str | None


@torch.no_grad()
def validate(generator, split: ArraySplit, config: TrainConfig, device: torch.device) -> float:
    """Mean |ab_pred - ab_true| over (up to ``val_max_images``) val images, in normalised ab units."""
    generator.eval()
    n = min(len(split), config.val_max_images)
    total, count = 0.0, 0
    for start in range(0, n, config.batch_size):
        images = split[list(range(start, min(start + config.batch_size, n)))]
        lightness, ab = to_model_batch(images, image_size=config.image_size, device=device)
        total += torch.abs(generator(lightness).float() - ab).mean(dim=(1, 2, 3)).sum().item()
        count += len(images)
    generator.train()
    return total / max(count, 1)


@torch.no_grad()
def sample_grid(generator, split: ArraySplit, config: TrainConfig, device: torch.device) -> Image.Image:
    """Rows of (grayscale input | colourised | ground truth) for the first val images."""
    generator.eval()
    images = split[list(range(min(config.num_samples, len(split))))]
    lightness, ab = to_model_batch(images, image_size=config.image_size, device=device)
    fake = generator(lightness).float()
    generator.train()
    gray = color.model_output_to_rgb(lightness, torch.zeros_like(ab), axis=1)
    rows = [gray, color.model_output_to_rgb(lightness, fake, axis=1), color.model_output_to_rgb(lightness, ab, axis=1)]
    grid = torch.cat([torch.cat(list(r), dim=2) for r in zip(*rows)], dim=1)  # (3, n*H, 3*W)
    array = (grid.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array)


def end_epoch(run: Run) -> None:
    """Validate (rank 0), log the val L1 and a sample grid, keep best.pt."""
    p, config = run.position, run.config
    p.epoch, p.batch_in_epoch = p.epoch + 1, 0
    if not run.world.is_main:
        return
    p.val_l1 = validate(run.nets.generator, run.data.val, config, run.device)
    run.logger.log_metrics({"val_l1": p.val_l1, "epoch": p.epoch}, step=p.step)
    run.logger.log_image(sample_grid(run.nets.generator, run.data.val, config, run.device),
                         f"samples/epoch_{p.epoch:03d}_step_{p.step:06d}.png")
    if p.best_val_l1 is None or p.val_l1 < p.best_val_l1:  # the epoch to export where later ones overfit
        p.best_val_l1 = p.val_l1
        run.save(checkpoint.BEST, batch_in_epoch=0)
    run.say(f"epoch {p.epoch}/{config.epochs}: step {p.step}, val L1 {p.val_l1:.4f}"
            + (" (best so far: best.pt)" if p.best_val_l1 == p.val_l1 else ""))


def finish(run: Run, out_of_time: bool) -> TrainResult:
    """Validate where it stopped mid-epoch, save, log the CPU time, upload the generator (rank 0)."""
    config, world, p = run.config, run.world, run.position
    if out_of_time:
        run.say(f"CPU budget of {config.max_cpu_minutes:g} min spent at step {p.step} (epoch {p.epoch + 1}); finishing")
    if world.is_main and (p.val_l1 is None or p.batch_in_epoch):  # stopped mid-epoch (max_steps, CPU budget)
        p.val_l1 = validate(run.nets.generator, run.data.val, config, run.device)
        run.logger.log_metrics({"val_l1": p.val_l1}, step=p.step)
        run.logger.log_image(sample_grid(run.nets.generator, run.data.val, config, run.device),
                             f"samples/final_step_{p.step:06d}.png")
    last = run.save()
    run.logger.log_metrics({"cpu_minutes": p.cpu_seconds() / 60.0}, step=p.step)
    distributed.barrier(world)
    if world.enabled:
        total = distributed.sum_over_ranks(world, p.images_seen, run.device)
        print(f"rank {world.rank}/{world.size}: {p.step} steps, {p.images_seen} of {total} images")
    model_uri = log_model(run.logger, run.nets.generator, config, last) if world.is_main else None
    return TrainResult(run.run_id, p.step, p.epoch, p.val_l1, last, model_uri)
