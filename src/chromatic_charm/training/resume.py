"""Resuming a run from its checkpoint: the config it continues with (which settings a resume may change,
which come from this machine), then its weights, optimiser and RNG states and its position put back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import torch

from ..config import checkpoints_dir
from ..errors import UserError
from . import checkpoint, distributed
from .config import TrainConfig
from .run import Position
from .step import Networks

# Where a run executes, not what it is: on resume these come from the current command.
MACHINE_FIELDS = ("data_dir", "checkpoint_dir", "device", "amp", "compile", "num_workers", "channels_last",
                  "sync_bn", "fused_adam")
# What a resume may change besides MACHINE_FIELDS: how long the run trains and how often it reports.
RESUME_SETTINGS = ("epochs", "max_steps", "max_cpu_minutes", "checkpoint_every", "log_every", "num_samples")


def resume_config(config: TrainConfig, resume, given, say) -> tuple[TrainConfig, dict | None]:
    """The config to train with and the checkpoint's state (None for a new run)."""
    if not resume:
        return config, None
    path = checkpoint.find_resume(None if resume is True else resume, checkpoints_dir())
    state = checkpoint.load(path)
    saved = TrainConfig(**{k: v for k, v in state["train_config"].items() if k in TrainConfig.field_names()})
    changes = _resume_changes(config, saved, given)
    here = {name: getattr(config, name) for name in MACHINE_FIELDS}
    here["checkpoint_dir"] = config.checkpoint_dir or str(path.parent)
    if not config.data_dir and saved.data_dir and Path(saved.data_dir).is_dir():
        here["data_dir"] = saved.data_dir  # not given, and the run's own data is on this machine
    config = replace(saved, **changes, **here)  # a CPU budget counts the CPU time before the resume too
    say(f"resuming from {path} (step {state['step']}, epoch {state['epoch'] + 1})")
    moved = [f"{name} {getattr(config, name)!r} (the run had {getattr(saved, name)!r})"
             for name in MACHINE_FIELDS if getattr(config, name) != getattr(saved, name)]
    if moved:
        say("on this machine: " + ", ".join(moved))
    return config, state


def _resume_changes(config: TrainConfig, saved: TrainConfig, given: Iterable[str] | None) -> dict:
    """What a resume changes in the saved config: the given fields of RESUME_SETTINGS. A given field that
    would change the model or its optimisation is a UserError naming it."""
    if given is None:
        defaults = TrainConfig()
        given = [name for name in TrainConfig.field_names() if getattr(config, name) != getattr(defaults, name)]
    given = set(given) - set(MACHINE_FIELDS)
    fixed = sorted(name for name in given - set(RESUME_SETTINGS) if getattr(config, name) != getattr(saved, name))
    if fixed:
        raise UserError("a resumed run keeps its settings; "
                        + ", ".join(f"{name} {getattr(config, name)!r} (the run has {getattr(saved, name)!r})"
                                    for name in fixed)
                        + f" cannot change. Leave {'it' if len(fixed) == 1 else 'them'} out, or start a new run; "
                          f"a resume may change {', '.join(RESUME_SETTINGS)} and where it runs")
    return {name: getattr(config, name) for name in sorted(given & set(RESUME_SETTINGS))}


def restore_state(nets: Networks, state: dict, device: torch.device) -> None:
    """The checkpoint's weights, optimiser and scaler states, and RNG states, into this run."""
    nets.generator.load_state_dict(state["generator"])
    nets.discriminator.load_state_dict(state["discriminator"])
    for optimizer, key in ((nets.opt_g, "opt_g"), (nets.opt_d, "opt_d")):
        # Adam's kernel is this machine's choice (--fused-adam), not the checkpoint's: loading keeps the
        # saved group flags, and places the step counters for the kernel they name.
        for group in state[key]["param_groups"]:
            group["fused"] = optimizer.param_groups[0].get("fused")
        optimizer.load_state_dict(state[key])
    if nets.scaler is not None and state.get("scaler"):
        nets.scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng_torch"])
    restore_cuda_rng(state.get("rng_cuda"), device)


def restore_cuda_rng(saved, device: torch.device) -> bool:
    """Set this device's CUDA RNG from a checkpoint; True when it was set.

    ``saved``: one state (this format), or a list of one per GPU (checkpoints written by
    ``get_rng_state_all`` before): the entry of this device's index is used when there is one, so
    an 8-GPU checkpoint resumes on one GPU, or on the CPU, where there is nothing to restore."""
    if device.type != "cuda" or saved is None:
        return False
    if isinstance(saved, (list, tuple)):
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index >= len(saved):
            return False
        saved = saved[index]
    torch.cuda.set_rng_state(saved, device)
    return True


def resume_position(state: dict, world: distributed.World, say) -> Position:
    """Where the checkpoint's run was, in this world's batches, with the CPU time it had spent."""
    position = Position(step=state["step"], epoch=state["epoch"], batch_in_epoch=state["batch_in_epoch"],
                        val_l1=state["val_l1"], best_val_l1=state.get("best_val_l1"),
                        cpu_before=state.get("cpu_seconds", 0.0))
    saved_world = state.get("world_size", 1)
    if saved_world != world.size and position.batch_in_epoch:
        # Positions are counted in global batches: keep the images already seen this epoch.
        position.batch_in_epoch = position.batch_in_epoch * saved_world // world.size
        say(f"checkpoint written by {saved_world} process(es), resumed by {world.size}: "
            f"continuing the epoch at global batch {position.batch_in_epoch}")
    return position
