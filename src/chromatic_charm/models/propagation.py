"""Hint propagation: the colours a user gives at a few points, spread over the photo inside the network.

A generator predicts a*b*; at each hinted pixel the hint says what a*b* should be. The difference (hint
minus prediction) is spread to every pixel by normalised convolution in a bilateral grid: a pixel takes
the weighted mean of the hints' corrections, each weighted by its distance in the image (a Gaussian of
``spread`` x the image side) and in lightness (a Gaussian of ``lightness_sigma`` in normalised L, soft-binned
into ``bins`` levels), so a correction reaches the region of similar tones around its point first and the
rest of the photo less; where the hints' weight is small next to what a fully hinted photo would give,
the correction fades (``fade``), so one click does not recolour far-away things. No hints: no change at
all (the automatic colours).

Why it is in the graph rather than learnt (docs/encoder_study.md, round 4): trained on a few hundred
photos, a U-Net given the hint map as input (at the encoder's first convolution or in every decoder
block) learns to use it very little (10 one-pixel hints moved the mean CIEDE2000 by 1-2%), while this
layer on the same network's output takes 10 hints to about half the error of none. It has no weights; it
is exported to ONNX with the network and runs at any input size (a grid of ``GRID`` cells a side).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

GRID = 32  # bilateral-grid cells along each side


@dataclass(frozen=True)
class PropagationConfig:
    spread: float = 0.25  # spatial sigma, as a share of the image side
    lightness_sigma: float = 0.2  # in normalised L (L* / 50 - 1): 0.2 = 10 L* units
    bins: int = 8  # lightness levels of the grid
    # How far a few hints reach: a pixel takes the share den / (den + fade x full / pixels) of the correction,
    # den being the hints' weight there and full what it would be with every pixel hinted; 0 = all of it
    # everywhere (one hint would shift every pixel of its lightness, however far).
    fade: float = 0.3


class HintPropagation(nn.Module):
    def __init__(self, config: PropagationConfig = PropagationConfig()):
        super().__init__()
        self.config = config
        self.register_buffer("centres", torch.linspace(-1.0, 1.0, config.bins).view(1, -1, 1, 1), persistent=False)

    def forward(self, lightness: torch.Tensor, ab: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        """``lightness`` (B, 1, H, W), the predicted ``ab`` (B, 2, H, W), ``hints`` (B, 3, H, W) -> ab with the
        hints' corrections spread (float32, in [-1, 1])."""
        c = self.config
        lightness, ab, hints = lightness.float(), ab.float(), hints.float()
        h, w = (int(v) for v in lightness.shape[-2:])  # constants in an exported graph (its size is fixed)
        mask = hints[:, 2:3]
        delta = (hints[:, :2] - ab) * mask
        phi = torch.exp(-((lightness - self.centres) ** 2) / (2 * c.lightness_sigma**2))  # (B, bins, H, W)
        phi = phi / phi.sum(1, keepdim=True)
        splat = torch.cat([delta[:, :1] * phi, delta[:, 1:] * phi, mask * phi, phi], dim=1)  # (B, 4 bins, H, W)
        cell = (max(1, h // GRID), max(1, w // GRID))
        grid = F.avg_pool2d(splat, cell, cell)
        grid = _blur(grid, c.spread * int(grid.shape[-2]), c.spread * int(grid.shape[-1]))
        grid = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)
        n = c.bins
        num_a = (grid[:, :n] * phi).sum(1, keepdim=True)
        num_b = (grid[:, n:2 * n] * phi).sum(1, keepdim=True)
        den = (grid[:, 2 * n:3 * n] * phi).sum(1, keepdim=True)
        full = (grid[:, 3 * n:] * phi).sum(1, keepdim=True)
        share = den / (den + c.fade * full / (h * w)).clamp_min(1e-20) * (den > 1e-20).float()
        correction = torch.cat([num_a, num_b], dim=1) / den.clamp_min(1e-20) * share
        return (ab + correction).clamp(-1.0, 1.0)


def _blur(x: torch.Tensor, sigma_y: float, sigma_x: float) -> torch.Tensor:
    """A separable Gaussian blur with zero padding (outside the image counts as no hint)."""
    channels = int(x.shape[1])
    for axis, sigma in ((3, sigma_x), (2, sigma_y)):
        radius = max(1, math.ceil(3 * sigma))
        t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
        kernel = torch.exp(-(t**2) / (2 * sigma**2))
        kernel = kernel / kernel.sum()
        if axis == 3:
            x = F.conv2d(F.pad(x, (radius, radius, 0, 0)), kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1),
                         groups=channels)
        else:
            x = F.conv2d(F.pad(x, (0, 0, radius, radius)), kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1),
                         groups=channels)
    return x


class HintedGenerator(nn.Module):
    """A generator that takes hints: ``forward(L, hints)``. A generator trained with ``--hints`` gets the hint
    map as its own input too; any generator's output then goes through ``HintPropagation``. With
    ``hints=None`` it is the generator itself."""

    takes_hints = True

    def __init__(self, generator: nn.Module, config: PropagationConfig = PropagationConfig()):
        super().__init__()
        self.generator = generator
        self.propagation = HintPropagation(config)
        self.learned_hints = bool(getattr(generator, "takes_hints", False))
        self.config = generator.config
        self.multiple = getattr(generator, "multiple", 1)

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if hints is None:
            return self.generator(lightness)
        ab = self.generator(lightness, hints) if self.learned_hints else self.generator(lightness)
        return self.propagation(lightness, ab, hints)

    def describe(self) -> dict:
        """What the exported metadata and the model card say about its hints."""
        return {"learned": getattr(self.config, "hints", "none"), "propagation": asdict(self.propagation.config)}


def with_hints(generator: nn.Module) -> HintedGenerator:
    return generator if isinstance(generator, HintedGenerator) else HintedGenerator(generator)


__all__ = ["GRID", "HintPropagation", "HintedGenerator", "PropagationConfig", "with_hints"]
