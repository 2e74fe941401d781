"""The training loop, read top to bottom: ``train`` runs the phases in order (resume, data, build, track,
loop, finish); a ``Run`` holds what they share and its ``Position`` what a checkpoint saves; ``GracefulStop``
owns SIGTERM and the ranks' agreement to stop."""

from __future__ import annotations

import copy
import random
import signal
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import NamedTuple
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from .. import color, tracking
from ..config import checkpoints_dir, clean_data_dir
from ..data.dataset import ArraySplit, EpochBatchSampler, make_loader, read_manifest, to_model_batch
from ..errors import Interrupted, UserError
from ..models import (GANLoss, PretrainedUNet, PretrainedUNetConfig, build_discriminator, build_generator,
                      init_weights, model_configs)
from ..models.losses import AB_BINS, ab_histogram, rebalance_weights
from . import checkpoint, distributed
from .config import TrainConfig
from .step import LOSS_NAMES, Networks, train_step


@dataclass
class TrainResult:
    run_id: str
    steps: int
    epochs_done: int
    val_l1: float | None
    checkpoint: Path
    model_uri: str | None


# Where a run executes, not what it is: on resume these come from the current command.
MACHINE_FIELDS = ("data_dir", "checkpoint_dir", "device", "amp", "compile", "num_workers", "channels_last",
                  "sync_bn", "fused_adam")
# What a resume may change besides MACHINE_FIELDS: how long the run trains and how often it reports.
RESUME_SETTINGS = ("epochs", "max_steps", "max_cpu_minutes", "checkpoint_every", "log_every", "num_samples")
MODEL_UPLOAD_TIMEOUT_S = 1800.0  # the full generator is 218 MB: minutes on a slow uplink


class _NoLogger:
    """What ranks other than 0 log to under DDP: nothing (rank 0 writes the one MLflow run)."""

    def __init__(self, run_id: str | None):
        self.run_id = run_id

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """auto: bf16 on GPUs of compute capability 8.0 and up (A100, L4, H100), fp16 with loss scaling
    below (T4, V100). Not ``torch.cuda.is_bf16_supported()``: it counts emulation, and cuDNN has no
    bf16 convolutions below 8.0, so a T4 would run bf16 slowly. Off on the CPU."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.get_device_capability(device) >= (8, 0) else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def augmentation_generator(seed: int, step: int) -> torch.Generator:
    """The random source of a step's augmentation: it depends only on (seed, step), so a resumed run
    repeats the draws exactly."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def hint_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """The random source of a step's hints (``--hints``): like the augmentation's, from (seed, step), and
    different on each rank, whose images differ."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 7919 + 104_729 + rank)


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


class Built(NamedTuple):
    nets: Networks
    gen_cfg: object
    disc_cfg: object
    channels_last: bool


def build_networks(config: TrainConfig, device: torch.device, world: distributed.World = distributed.World(), *,
                   pretrained: bool = True) -> Built:
    """The networks and optimisers of a run, initialised and on ``device``; ``pretrained``: start a
    pretrained encoder from ImageNet (a new run; a resumed one loads its own weights next)."""
    gen_cfg, disc_cfg = model_configs(config.model_size, ngf=config.ngf, num_downs=config.num_downs,
                                      dropout=config.dropout, ndf=config.ndf, n_layers=config.n_layers)
    if config.encoder != "none":
        widths = tuple(max(1, round(c * config.decoder_width)) for c in PretrainedUNetConfig.decoder_channels)
        gen_cfg = PretrainedUNetConfig(encoder=config.encoder, decoder_channels=widths,
                                       hints=config.hint_injection if config.hints else "none")
    elif config.hints:
        gen_cfg = replace(gen_cfg, hints="input")
    generator, discriminator = build_generator(gen_cfg), build_discriminator(disc_cfg)
    multiple = generator.multiple
    if config.image_size % multiple:
        what = ("the encoder's 32" if config.encoder != "none"
                else f"2**num_downs for model size '{config.model_size}'")
        raise UserError(f"image size {config.image_size} is not divisible by {multiple} ({what}); "
                        f"pick a multiple of {multiple}")
    if isinstance(generator, PretrainedUNet):
        init_weights(generator.decoder)
        init_weights(generator.head)
        if pretrained and not config.init_from:
            generator.load_imagenet(config.encoder_weights)
    else:
        init_weights(generator)
    if pretrained and config.init_from:
        load_initial_generator(generator, gen_cfg, config.init_from)
    init_weights(discriminator)
    if world.enabled and device.type == "cuda" and config.sync_bn:
        # BatchNorm statistics over the global batch, as in a single-process run (GPUs only).
        generator = torch.nn.SyncBatchNorm.convert_sync_batchnorm(generator)
        discriminator = torch.nn.SyncBatchNorm.convert_sync_batchnorm(discriminator)
    channels_last = device.type == "cuda" if config.channels_last is None else config.channels_last
    memory_format = torch.channels_last if channels_last else torch.preserve_format
    generator.to(device, memory_format=memory_format)
    discriminator.to(device, memory_format=memory_format)
    dtype = autocast_dtype(config.amp, device)
    nets = Networks(
        generator=generator,
        discriminator=discriminator,
        opt_g=_adam(_generator_groups(generator, config), config.lr_g, config),
        opt_d=_adam(discriminator.parameters(), config.lr_d, config),
        gan_loss=GANLoss(config.gan_mode),
        lambda_l1=config.lambda_l1,
        scaler=torch.amp.GradScaler("cuda") if dtype == torch.float16 else None,
        autocast_dtype=dtype,
        hints=config.hints,
    )
    return Built(nets, gen_cfg, disc_cfg, channels_last)


def load_initial_generator(generator: torch.nn.Module, gen_cfg, source: str | Path) -> Path:
    """Load the generator weights of another run's checkpoint (a file, or a folder holding last.pt) into
    ``generator``; a UserError when its architecture is not the one this run builds."""
    path = checkpoint.find_resume(source, checkpoints_dir())
    state = checkpoint.load(path)
    def plain(cfg: dict) -> dict:  # tuples saved, lists read back from older files: compare the values
        return {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}

    if plain(state["generator_config"]) != plain(asdict(gen_cfg)):
        raise UserError(f"--init-from '{path}' holds a generator {state['generator_config']}, this run builds "
                        f"{asdict(gen_cfg)}; give the checkpoint's model flags (--encoder, --model-size, ...)")
    generator.load_state_dict(state["generator"])
    return path


def _generator_groups(generator: torch.nn.Module, config: TrainConfig) -> list[dict]:
    """The generator's parameters for Adam: one group, or (pretrained encoder) the decoder's, then the
    encoder's at lr_g x encoder_lr_mult (``set_encoder_phase`` sets it each epoch)."""
    if not isinstance(generator, PretrainedUNet):
        return [{"params": list(generator.parameters())}]
    return [{"params": generator.decoder_parameters()},
            {"params": generator.encoder_parameters(), "lr": config.lr_g * config.encoder_lr_mult}]


def set_encoder_phase(nets: Networks, config: TrainConfig, epoch: int) -> bool:
    """Freeze a pretrained encoder for the first ``freeze_encoder_epochs`` (its learning rate 0, its
    BatchNorm statistics ImageNet's), then let it learn at lr_g x encoder_lr_mult; True while frozen.
    A learning rate of 0 rather than ``requires_grad_(False)``: DistributedDataParallel needs the same
    parameters to get gradients at every step."""
    generator = nets.generator
    if not isinstance(generator, PretrainedUNet):
        return False
    frozen = epoch < config.freeze_encoder_epochs
    generator.freeze_encoder(frozen)
    nets.opt_g.param_groups[1]["lr"] = 0.0 if frozen else config.lr_g * config.encoder_lr_mult
    return frozen


def _adam(params, lr: float, config: TrainConfig) -> torch.optim.Adam:
    # The fused kernel does the whole update in one pass over the parameters instead of about ten
    # element-wise passes; the same algorithm, rounding aside (benchmarks/train_benchmark.py).
    return torch.optim.Adam(params, lr=lr, betas=(config.beta1, config.beta2), fused=config.fused_adam or None)


def _compile(nets: Networks) -> None:
    """torch.compile what the step calls (the DDP wrappers when there are some)."""
    nets.train_generator, nets.train_pair = torch.compile(nets.train_generator), torch.compile(nets.train_pair)


def _wrap_ddp(nets: Networks, device: torch.device) -> None:
    """DDP wrappers for the training calls (after any restore: they broadcast rank 0's weights)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    nets.train_generator = DDP(nets.generator, device_ids=ids)
    nets.train_pair = DDP(nets.train_pair, device_ids=ids)


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


def _restore(nets: Networks, state: dict, device: torch.device) -> None:
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
    run's own data folder is used where it exists on this machine, else the default.

    Started by torchrun (``WORLD_SIZE`` > 1), every process runs this function: see ``distributed``.
    ``batch_size`` is then per process; rank 0 logs, validates and writes the checkpoints.

    The phases, in order: resume (the config and state of a checkpoint), data, build (networks,
    optimisers, restored state), track (the MLflow run), loop (epochs of steps, until the epochs, the
    step limit, the CPU budget or a stop), finish (validate, save, upload the generator).
    """
    world = distributed.from_env()
    say = print if world.is_main else (lambda *args, **kwargs: None)
    config, state = _resume(config, resume, given, say)
    config, data = _open_data(config, world, state)
    device = distributed.device_for(world, config.device)
    created_group = distributed.init(world, device)
    try:
        run = _build_run(config, world, device, state, data, say)
        _start_tracking(run, state, parent_run_id, command)
        with GracefulStop(world, device) as stop:
            return _loop_and_finish(run, stop, progress=progress and world.is_main)
    finally:
        distributed.shutdown(created_group)


# --- phase 1: resume ------------------------------------------------------------------------------

def _resume(config: TrainConfig, resume, given, say) -> tuple[TrainConfig, dict | None]:
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


# --- phase 2: data --------------------------------------------------------------------------------

@dataclass
class Data:
    folder: Path
    manifest: dict
    train: ArraySplit
    val: ArraySplit


def train_colour_histogram(split: ArraySplit, stride: int = 4) -> np.ndarray:
    """a*b* counts of the training photos (every ``stride``-th pixel each way: the distribution, not
    every pixel), for colour rebalancing. Deterministic: each process of a run computes the same."""
    counts = np.zeros((AB_BINS, AB_BINS))
    for start in range(0, len(split), 64):
        rgb = np.asarray(split.array[start:start + 64, ::stride, ::stride], dtype=np.float32) / 255.0
        counts += ab_histogram(color.rgb_to_lab(rgb)[..., 1:])
    return counts


def _open_data(config: TrainConfig, world: distributed.World, state: dict | None) -> tuple[TrainConfig, Data]:
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


# --- phase 3: build -------------------------------------------------------------------------------

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


def _build_run(config: TrainConfig, world, device, state: dict | None, data: Data, say) -> Run:
    """Seeded networks and optimisers (a resumed run's restored), wrapped for DDP and compiled as asked."""
    seed_everything(config.seed)
    if device.type == "cuda":  # the training shapes never change: let cuDNN time its algorithms once
        torch.backends.cudnn.benchmark = True
    built = build_networks(config, device, world, pretrained=state is None)
    position = Position()
    if state is not None:
        _restore(built.nets, state, device)
        position = Position(step=state["step"], epoch=state["epoch"], batch_in_epoch=state["batch_in_epoch"],
                            val_l1=state["val_l1"], best_val_l1=state.get("best_val_l1"))
        saved_world = state.get("world_size", 1)
        if saved_world != world.size and position.batch_in_epoch:
            # Positions are counted in global batches: keep the images already seen this epoch.
            position.batch_in_epoch = position.batch_in_epoch * saved_world // world.size
            say(f"checkpoint written by {saved_world} process(es), resumed by {world.size}: "
                f"continuing the epoch at global batch {position.batch_in_epoch}")
    if config.colour_rebalance > 0:
        weights = rebalance_weights(train_colour_histogram(data.train), config.colour_rebalance)
        built.nets.l1_weights = torch.as_tensor(weights, dtype=torch.float32, device=device)
    if world.rank > 0:  # dropout masks of their own (rank 0 keeps the single-process stream)
        torch.manual_seed(config.seed * 1_000_003 + world.rank * 7_919 + position.step)
    if world.enabled:
        _wrap_ddp(built.nets, device)
    if config.compile:
        _compile(built.nets)
    position.cpu_before = state.get("cpu_seconds", 0.0) if state else 0.0
    return Run(config, world, device, data, built, position, say)


# --- phase 4: track -------------------------------------------------------------------------------

def _start_tracking(run: Run, state: dict | None, parent_run_id: str | None, command: str | None) -> None:
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


# --- phase 5: loop, stop, finish ------------------------------------------------------------------

class GracefulStop:
    """Owns SIGTERM while training: the signal only asks for a stop, which the loop takes after the
    current step, once every rank agrees (``agreed``), with a checkpoint. Outside the main thread
    (some notebook runners) no handler can be set: checkpoints are the safety net there."""

    def __init__(self, world: distributed.World, device: torch.device):
        self.world, self.device = world, device
        self.signum: int | None = None
        self._previous, self._installed = None, False

    def __enter__(self) -> GracefulStop:
        self._previous = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, self._ask)
            self._installed = True
        except ValueError:  # not the main thread
            pass
        return self

    def _ask(self, signum, frame) -> None:
        self.signum = signum

    def agreed(self) -> bool:
        """True on every rank when any rank was asked to stop."""
        return distributed.any_rank(self.world, self.signum is not None, self.device)

    def __exit__(self, *exc) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)


def _loop_and_finish(run: Run, stop: GracefulStop, progress: bool) -> TrainResult:
    """The epochs, then the finish; the run's MLflow status says how it ended."""
    status = "FAILED"
    try:
        out_of_time = _loop(run, stop, progress)
        result = _finish(run, out_of_time)
        status = "FINISHED"
        return result
    except KeyboardInterrupt:
        run.save()
        status = "KILLED"
        raise Interrupted(f"interrupted at step {run.position.step}; checkpoint saved in {run.ckpt_dir}; "
                          f"continue with `chromatic-charm train --resume {run.ckpt_dir}`") from None
    except Interrupted:
        status = "KILLED"
        raise
    finally:
        try:
            run.logger.close(status)
        except Exception as exc:  # the run's status is cosmetic next to the error being raised
            print(f"warning: could not close the MLflow run: {tracking.first_line(exc)}")


def _loop(run: Run, stop: GracefulStop, progress: bool) -> bool:
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
                _log_window(run.logger, window, p.step, bar, world)
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
        _log_window(run.logger, window, p.step, bar, world)
        bar.close()
        if stopping:
            run.save()
            distributed.barrier(world)  # no rank exits before rank 0's checkpoint is on disk
            raise Interrupted(f"stopped by signal {stop.signum or int(signal.SIGTERM)} at step {p.step}; checkpoint "
                              f"saved in {run.ckpt_dir}; continue with `chromatic-charm train --resume {run.ckpt_dir}`")
        if p.batch_in_epoch >= sampler.batches_per_epoch:
            _end_epoch(run)
        run.save()
    return out_of_time


def _end_epoch(run: Run) -> None:
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


def _finish(run: Run, out_of_time: bool) -> TrainResult:
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
    model_uri = _log_model(run.logger, run.nets.generator, config, last) if world.is_main else None
    return TrainResult(run.run_id, p.step, p.epoch, p.val_l1, last, model_uri)


def _log_window(logger, window: list[dict], step: int, bar, world: distributed.World = distributed.World()) -> None:
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


def _log_model(logger, generator, config: TrainConfig, checkpoint_path: Path) -> str | None:
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
