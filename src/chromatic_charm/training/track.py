"""A training run's MLflow side, through ``chromatic_charm.tracking``: the run started (or continued) with
its params and tags, each step's losses, the final generator's upload. Rank 0 alone writes to it."""

from __future__ import annotations

import copy
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .. import tracking
from ..errors import UserError
from . import distributed
from .config import TrainConfig
from .run import Run
from .step import LOSS_NAMES

MODEL_UPLOAD_TIMEOUT_S = 1800.0  # the full generator is 218 MB: minutes on a slow uplink


class _NoLogger:
    """What ranks other than 0 log to under DDP: nothing (rank 0 writes the one MLflow run)."""

    def __init__(self, run_id: str | None):
        self.run_id = run_id

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def start_tracking(run: Run, state: dict | None, parent_run_id: str | None, command: str | None) -> None:
    """The MLflow run (rank 0; the others get its id), continued on resume; a UserError before any
    training if the server cannot start it."""
    config, world = run.config, run.world
    if not world.is_main:
        run.logger = _NoLogger(distributed.broadcast(world, None))
        run.run_id = run.logger.run_id
        return
    target, experiment_id = tracking.connect(config.experiment)
    commit, dirty = tracking.git_commit()
    try:
        run.logger = tracking.RunLogger.start(
            experiment_id, run_name=config.run_name, run_id=state["run_id"] if state else None,
            tags={"mlflow.source.git.commit": commit, "git_dirty": str(dirty), "model": "pix2pix-lab",
                  **({"mlflow.parentRunId": parent_run_id} if parent_run_id else {}),
                  **({"command": command} if command else {})},
            local_dir=run.ckpt_dir, display=target.display,
        )
        if state is None:
            run.logger.log_params({**_params(config, run.built.gen_cfg, run.built.disc_cfg, run.data.manifest,
                                             run.data.folder, len(run.data.train), world.size), "git_commit": commit})
    except Exception as exc:  # before any training: nothing is lost by stopping here
        where = (f"; the checkpoint's run {state['run_id']} must be in this store: point MLFLOW_TRACKING_URI "
                 "or DAGSHUB_REPO at the one that has it" if state else "")
        raise UserError(f"MLflow at {target.display} could not start the run ({tracking.first_line(exc)})"
                        + where) from None
    run.say(f"MLflow run {run.logger.run_id} at {target.display} (experiment '{config.experiment}')"
            + (f"; {world.size} processes, {config.batch_size} images each per step" if world.enabled else ""))
    run.run_id = distributed.broadcast(world, run.logger.run_id)


def _params(config: TrainConfig, gen_cfg, disc_cfg, manifest: dict, data_dir: Path, n_train: int,
            world_size: int = 1) -> dict:
    params = {k: v for k, v in asdict(config).items() if k not in ("experiment",)}
    params.update({"world_size": world_size, "global_batch_size": config.batch_size * world_size})
    params.update({f"G_{k}": v for k, v in asdict(gen_cfg).items()})
    params.update({f"D_{k}": v for k, v in asdict(disc_cfg).items()})
    params.update({
        "data_dir": str(data_dir),
        "data_version": manifest.get("data_version", "unknown"),
        "data_source": manifest.get("source", "unknown"),
        "train_images": n_train,
    })
    return params


def log_window(logger, window: list[dict], step: int, bar, world: distributed.World = distributed.World()) -> None:
    """Queue every step of the window with its own step number (under DDP: the mean over the ranks;
    every rank calls this at the same steps)."""
    if not window:
        return
    values = torch.stack([torch.stack([w[k] for k in LOSS_NAMES]) for w in window]).float()
    values = distributed.mean_over_ranks(world, values).cpu().numpy()
    first = step - len(window) + 1
    for i, row in enumerate(values):
        logger.log_metrics(dict(zip(LOSS_NAMES, row.tolist())), step=first + i)
    bar.set_postfix({k.removeprefix("loss_"): f"{v:.3f}" for k, v in zip(LOSS_NAMES, values[-1])})


def log_model(logger, generator, config: TrainConfig, checkpoint_path: Path) -> str | None:
    """Log the final generator with a signature (L in, ab out); returns its URI, or None when the
    server cannot take it (said in one line: the checkpoint holds the same generator)."""
    fallback = f"the generator is in {checkpoint_path}, which evaluate and export take as well"
    if not logger.drain(logger.timeout_s) or not logger.healthy:
        print(f"warning: MLflow does not answer, so the generator was not uploaded; {fallback}", file=sys.stderr)
        return None
    generator = generator.eval()
    size = config.image_size
    example = np.zeros((1, 1, size, size), dtype=np.float32)
    with torch.no_grad():
        output = generator(torch.from_numpy(example).to(next(generator.parameters()).device)).float().cpu().numpy()
    cpu_copy = copy.deepcopy(generator).float().cpu().to(memory_format=torch.contiguous_format)
    print("uploading the generator to MLflow...", flush=True)
    done, value = tracking.run_bounded(
        lambda: tracking.log_generator(logger.run_id, cpu_copy, example, output,
                                       [f"torch=={torch.__version__.split('+')[0]}", "chromatic-charm"]),
        MODEL_UPLOAD_TIMEOUT_S)
    if not done:
        reason = tracking.first_line(value) if value is not None else f"no answer within {MODEL_UPLOAD_TIMEOUT_S:.0f} s"
        print(f"warning: the generator could not be uploaded to MLflow ({reason}); {fallback}", file=sys.stderr)
        return None
    return value
