"""The networks and optimisers a run trains, built from its TrainConfig: the precision, Adam's parameter
groups, a pretrained encoder's freeze, and the DDP and torch.compile wrappers of the training calls."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import NamedTuple

import torch

from ..config import checkpoints_dir
from ..errors import UserError
from ..models import (GANLoss, PretrainedUNet, PretrainedUNetConfig, build_discriminator, build_generator,
                      init_weights, model_configs)
from . import checkpoint, distributed
from .config import TrainConfig
from .step import Networks


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """auto: bf16 on GPUs of compute capability 8.0 and up (A100, L4, H100), fp16 with loss scaling
    below (T4, V100). Not ``torch.cuda.is_bf16_supported()``: it counts emulation, and cuDNN has no
    bf16 convolutions below 8.0, so a T4 would run bf16 slowly. Off on the CPU."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.get_device_capability(device) >= (8, 0) else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


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


def compile_networks(nets: Networks) -> None:
    """torch.compile what the step calls (the DDP wrappers when there are some)."""
    nets.train_generator, nets.train_pair = torch.compile(nets.train_generator), torch.compile(nets.train_pair)


def wrap_ddp(nets: Networks, device: torch.device) -> None:
    """DDP wrappers for the training calls (after any restore: they broadcast rank 0's weights)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    nets.train_generator = DDP(nets.generator, device_ids=ids)
    nets.train_pair = DDP(nets.train_pair, device_ids=ids)
