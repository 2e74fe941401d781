"""Builders for the generator and discriminator, with named sizes.

``full`` is pix2pix's unet_256 + 70x70 PatchGAN; ``small`` trains on a laptop CPU; ``tiny`` runs in
tests and in the one-minute demo.
"""

from __future__ import annotations

from dataclasses import replace

from torch import nn

from ..config import MODEL_SIZE_NAMES
from ..errors import ConfigError
from .discriminator import DiscriminatorConfig, PatchDiscriminator
from .generator import GeneratorConfig, UNetGenerator
from .losses import GANLoss
from .pretrained import PRETRAINED_ENCODERS, PretrainedUNet, PretrainedUNetConfig

MODEL_SIZES: dict[str, tuple[GeneratorConfig, DiscriminatorConfig]] = {
    "full": (GeneratorConfig(), DiscriminatorConfig()),
    "small": (GeneratorConfig(ngf=32, num_downs=7), DiscriminatorConfig(ndf=32)),
    "tiny": (GeneratorConfig(ngf=8, num_downs=5), DiscriminatorConfig(ndf=8, n_layers=2)),
}
assert tuple(MODEL_SIZES) == MODEL_SIZE_NAMES, "keep config.MODEL_SIZE_NAMES in step with MODEL_SIZES"


def model_configs(size: str = "full", **overrides) -> tuple[GeneratorConfig, DiscriminatorConfig]:
    """Configs for a named size; ``overrides`` (ngf, num_downs, dropout, ndf, n_layers) adjust them."""
    if size not in MODEL_SIZES:
        raise ConfigError(f"unknown model size {size!r}; choose one of {', '.join(MODEL_SIZES)}")
    gen, disc = MODEL_SIZES[size]
    gen_keys = {k: v for k, v in overrides.items() if k in ("ngf", "num_downs", "dropout") and v is not None}
    disc_keys = {k: v for k, v in overrides.items() if k in ("ndf", "n_layers") and v is not None}
    return replace(gen, **gen_keys), replace(disc, **disc_keys)


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """pix2pix's initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BatchNorm scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


def generator_config(config: GeneratorConfig | PretrainedUNetConfig | dict) -> GeneratorConfig | PretrainedUNetConfig:
    """A generator's config from itself or its ``asdict`` (a checkpoint's, an ONNX card's): one with an
    ``encoder`` is a ``PretrainedUNet``'s, any other pix2pix's U-Net's."""
    if isinstance(config, dict):
        return PretrainedUNetConfig(**config) if "encoder" in config else GeneratorConfig(**config)
    return config


def build_generator(config: GeneratorConfig | PretrainedUNetConfig | dict) -> UNetGenerator | PretrainedUNet:
    """The generator of a config, with fresh weights (a pretrained encoder's ImageNet weights are loaded
    by the trainer, ``PretrainedUNet.load_imagenet``: a rebuilt checkpoint needs none)."""
    config = generator_config(config)
    if isinstance(config, PretrainedUNetConfig):
        return PretrainedUNet(config)
    return UNetGenerator(config)


def build_discriminator(config: DiscriminatorConfig | dict) -> PatchDiscriminator:
    if isinstance(config, dict):
        config = DiscriminatorConfig(**config)
    return PatchDiscriminator(config)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = [
    "MODEL_SIZES",
    "PRETRAINED_ENCODERS",
    "PretrainedUNet",
    "PretrainedUNetConfig",
    "DiscriminatorConfig",
    "GANLoss",
    "GeneratorConfig",
    "PatchDiscriminator",
    "UNetGenerator",
    "build_discriminator",
    "build_generator",
    "generator_config",
    "count_parameters",
    "init_weights",
    "model_configs",
]
