"""The training loop: ``train`` runs a run's phases in order, each named after the module that holds it
(resume, build, track, stop, finish), and the epochs of steps between them. The functions that the CLI,
the tests, the benchmarks and the scripts import from here stay importable from here (``__all__``)."""

from __future__ import annotations

import signal
from collections.abc import Iterable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data.dataset import EpochBatchSampler, make_loader, to_model_batch
from ..errors import Interrupted
from . import distributed
from .build import build_run, open_data, seed_everything, train_colour_histogram
from .config import TrainConfig
from .finish import TrainResult, end_epoch, finish, sample_grid
from .networks import autocast_dtype, build_networks, set_encoder_phase
from .resume import restore_cuda_rng, resume_config
from .run import Run
from .step import train_step
from .stop import GracefulStop, mlflow_status
from .track import log_window, start_tracking

__all__ = ["TrainResult", "augmentation_generator", "autocast_dtype", "build_networks", "hint_generator",
           "restore_cuda_rng", "sample_grid", "seed_everything", "set_encoder_phase", "train",
           "train_colour_histogram"]


def augmentation_generator(seed: int, step: int) -> torch.Generator:
    """The random source of a step's augmentation: it depends only on (seed, step), so a resumed run
    repeats the draws exactly."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def hint_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """The random source of a step's hints (``--hints``): like the augmentation's, from (seed, step), and
    different on each rank, whose images differ."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 7919 + 104_729 + rank)


def train(config: TrainConfig, resume: str | Path | bool | None = None, progress: bool = True,
          parent_run_id: str | None = None, command: str | None = None,
          given: Iterable[str] | None = None) -> TrainResult:
    """Train pix2pix on prepared data, tracked as one MLflow run.

    ``resume``: None/False for a new run; True for the newest ``checkpoints/*/last.pt``; or a path
    (a checkpoint file or a run's checkpoint folder). A resumed run keeps its saved config and continues
    the same MLflow run. Only the fields in ``given`` (the flags the user gave; default: the fields of
    ``config`` that differ from TrainConfig's defaults) change it, and only those of ``RESUME_SETTINGS``
    (how long it trains: ``epochs`` may also shorten it); a given field that would change the model or
    its optimisation stops with a UserError. Where it runs (``MACHINE_FIELDS``:
    data and checkpoint folders, device, precision, compile, loader threads) comes from ``config``,
    so a run started on Colab continues on a workstation. Its checkpoints stay in the folder it was
    resumed from unless ``config.checkpoint_dir`` says otherwise; without ``config.data_dir`` the
    run's own data folder is used where it exists on this machine, else the default. (Both lists are
    in ``resume.py``.)

    Started by torchrun (``WORLD_SIZE`` > 1), every process runs this function: see ``distributed``.
    ``batch_size`` is then per process; rank 0 logs, validates and writes the checkpoints.
    """
    world = distributed.from_env()
    say = print if world.is_main else (lambda *args, **kwargs: None)
    # resume: the checkpoint's config, changed only where this command may change it, and its state
    config, state = resume_config(config, resume, given, say)
    # data: the prepared splits; the run's name and checkpoint folder
    config, data = open_data(config, world, state)
    device = distributed.device_for(world, config.device)
    created_group = distributed.init(world, device)
    try:
        # build: seeded networks and optimisers, a resumed run's state put back, DDP and compile
        run = build_run(config, world, device, state, data, say)
        # track: the MLflow run, a UserError now rather than after hours of training
        start_tracking(run, state, parent_run_id, command)
        # loop: epochs of steps until the epochs, the step limit or the CPU budget are spent; a SIGTERM
        # or Ctrl-C stops it with a checkpoint, and the MLflow run's status says how it ended
        with GracefulStop(world, device) as stop, mlflow_status(run):
            out_of_time = _run_epochs(run, stop, progress=progress and world.is_main)
            # finish: validate where it stopped, save, upload the generator
            return finish(run, out_of_time)
    finally:
        distributed.shutdown(created_group)


def _run_epochs(run: Run, stop: GracefulStop, progress: bool) -> bool:
    """Epochs of steps until the epochs, the step limit or the CPU budget are used up (True: the budget);
    Interrupted, after a checkpoint, when a stop was asked for."""
    config, world, device, p = run.config, run.world, run.device, run.position
    sampler = EpochBatchSampler(len(run.data.train), config.batch_size, seed=config.seed,
                                rank=world.rank, world_size=world.size)
    loader = make_loader(run.data.train, sampler, num_workers=config.num_workers, pin_memory=device.type == "cuda")
    p.start_clock()
    out_of_time = p.over_budget(config)
    while p.epoch < config.epochs and not p.reached(config) and not out_of_time:
        sampler.set_epoch(p.epoch, start_batch=p.batch_in_epoch)
        l1_only = p.epoch < config.warmup_epochs
        frozen = set_encoder_phase(run.nets, config, p.epoch)
        phases = [name for name, on in (("L1 warm-up", l1_only), ("encoder frozen", frozen)) if on]
        bar = tqdm(loader, total=len(sampler), disable=not progress, leave=False,
                   desc=f"epoch {p.epoch + 1}/{config.epochs}" + (f" ({', '.join(phases)})" if phases else ""))
        window: list[dict] = []
        stopping = False
        for images in bar:
            lightness, ab = to_model_batch(images, image_size=config.image_size, device=device, augment=True,
                                           load_size=config.load_size, crop_scale=config.crop_scale,
                                           channels_last=run.built.channels_last,
                                           generator=augmentation_generator(config.seed, p.step),
                                           shard=(world.rank, world.size))
            window.append(train_step(run.nets, lightness, ab, l1_only=l1_only,
                                     hint_generator=hint_generator(config.seed, p.step, world.rank)))
            p.step += 1
            p.batch_in_epoch += 1
            p.images_seen += len(images)
            if p.step % config.log_every == 0:
                log_window(run.logger, window, p.step, bar, world)
                window = []
            if p.step % config.checkpoint_every == 0:
                run.save()
            # Under DDP the ranks agree on a stop at each metric upload (log_every steps),
            # where the losses are gathered anyway: a check every step would add a host sync.
            if not world.enabled or p.step % config.log_every == 0:
                stopping = stop.agreed()
                out_of_time = distributed.any_rank(world, p.over_budget(config), device)
            if stopping or out_of_time or p.reached(config):
                break
        log_window(run.logger, window, p.step, bar, world)
        bar.close()
        if stopping:
            run.save()
            distributed.barrier(world)  # no rank exits before rank 0's checkpoint is on disk
            raise Interrupted(f"stopped by signal {stop.signum or int(signal.SIGTERM)} at step {p.step}; checkpoint "
                              f"saved in {run.ckpt_dir}; continue with `chromatic-charm train --resume {run.ckpt_dir}`")
        if p.batch_in_epoch >= sampler.batches_per_epoch:
            end_epoch(run)
        run.save()
    return out_of_time
