"""Hint propagation: the colours a user gives at a few points, spread over the photo inside the network.

A generator predicts a*b*; at each hinted pixel the hint says what a*b* should be. The difference (hint
minus prediction) is spread to every pixel as a weighted mean of the hints' corrections, each weighted by
how alike the pixel and the hinted point are: a Gaussian of their distance in the image (``spread`` x the
image side), in lightness (``lightness_sigma``, normalised L) and in the colour the network gave them
(``colour_sigma``, normalised a*b*): the network's colours already group a photo into its regions (sky,
foliage, a wall) better than lightness alone, so a correction reaches the pixels the network coloured like
the hinted one, across the photo, and not a neighbour of the same lightness that it coloured otherwise.
A pixel takes ``w / (w + fade)`` of the mean correction, ``w`` being its weights' sum (1 at a hinted pixel), so
a pixel unlike every hint keeps the network's colour. No hints: no change at all (the automatic colours).

The hint map is pooled into cells of 4x4 pixels of the network's grid (``CELLS`` a side, 8x8 photo pixels
at 256; a cell's position, lightness, colour and correction are its hinted pixels' means, its weight their
number: two hints that close are one), and the ``MAX_CELLS`` cells with the most hinted pixels take part:
every hint of the API's 256 at radius 0; when wide hints cover more cells than that, the best covered, ties
broken by a fixed scatter over the photo (so that PyTorch and ONNX Runtime keep the same ones, and no hint
loses all its cells to the others' order). The weights are an (H x W) x (hinted cells) matrix, so the
work grows with the hints (16 MB at 128 x 128 with 256 cells) and with none there is none.

Why it is in the graph rather than learnt (studies/hints/README.md, round 4): trained on a few hundred
photos, a U-Net given the hint map as input (at the encoder's first convolution or in every decoder
block) learns to use it very little (10 one-pixel hints moved the mean CIEDE2000 by under 1%), while this
layer on the same network's output takes 10 hints to about half the error of none. It has no weights and
is exported to ONNX with the network.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

CELLS = 32  # hint cells along each side of the network's grid (cells of 4x4 pixels at 128)
MAX_CELLS = 256  # hinted cells that take part (the API takes at most 256 hints)


@dataclass(frozen=True)
class PropagationConfig:
    spread: float = 0.3  # spatial sigma, as a share of the image side
    lightness_sigma: float = 0.2  # in normalised L (L* / 50 - 1): 0.2 = 10 L* units
    colour_sigma: float = 0.05  # in the network's normalised a*b* (a* / 110): 0.05 = 5.5 a*b* units
    # A pixel whose weights to the hints sum to w takes w / (w + fade) of their mean correction: the
    # correction fades where no hint is like the pixel (in place, lightness and the network's colour).
    fade: float = 0.01


class HintPropagation(nn.Module):
    def __init__(self, config: PropagationConfig = PropagationConfig()):
        super().__init__()
        self.config = config

    def forward(self, lightness: torch.Tensor, ab: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        """``lightness`` (B, 1, H, W), the predicted ``ab`` (B, 2, H, W), ``hints`` (B, 3, H, W) -> ab with the
        hints' corrections spread (float32, in [-1, 1])."""
        c = self.config
        lightness, ab, hints = lightness.float(), ab.float(), hints.float()
        h, w = (int(v) for v in lightness.shape[-2:])  # constants in an exported graph (its size is fixed)
        # Each pixel's features, scaled so that the squared distance between two is the Gaussians' exponent.
        ys = (torch.arange(h, dtype=torch.float32, device=ab.device) + 0.5) / h
        xs = (torch.arange(w, dtype=torch.float32, device=ab.device) + 0.5) / w
        root2 = math.sqrt(2.0)
        features = torch.cat([(ys / (c.spread * root2)).view(1, 1, h, 1).expand_as(lightness),
                              (xs / (c.spread * root2)).view(1, 1, 1, w).expand_as(lightness),
                              lightness / (c.lightness_sigma * root2), ab / (c.colour_sigma * root2)], dim=1)
        # The hinted pixels, pooled into cells: weight = hinted pixels, features and correction = their means.
        mask = hints[:, 2:3]
        cell = (max(1, h // CELLS), max(1, w // CELLS))
        area = cell[0] * cell[1]
        count = F.avg_pool2d(mask, cell, cell) * area
        per_cell = F.avg_pool2d(torch.cat([features, hints[:, :2] - ab], dim=1) * mask, cell, cell) * area
        per_cell = per_cell / count.clamp_min(1e-6)
        count, per_cell = count.flatten(1), per_cell.flatten(2)  # (B, G), (B, 7, G)
        cells = int(count.shape[1])
        scatter = torch.remainder(torch.arange(cells, dtype=torch.float32, device=ab.device) * 0.6180339887, 1.0)
        rank = count + (count > 0).float() * 0.5 * scatter  # counts are whole pixels: ties broken by the scatter
        # As many cells as the most hinted image has, at most MAX_CELLS; a tensor, so that the exported graph
        # sizes its work by the hints too (none: nothing to do, the network's colours as they are).
        k = (count > 0).sum(1).max().clamp(max=min(MAX_CELLS, cells))
        top = rank.topk(k, dim=1).indices  # (B, k)
        weight = count.gather(1, top)
        chosen = per_cell.gather(2, top.unsqueeze(1).expand(-1, int(per_cell.shape[1]), -1))  # (B, 7, k)
        near, delta = chosen[:, :5], chosen[:, 5:]
        pixels = features.flatten(2)  # (B, 5, HW)
        distance = ((pixels**2).sum(1).unsqueeze(2) + (near**2).sum(1).unsqueeze(1)
                    - 2 * pixels.transpose(1, 2) @ near)  # (B, HW, k): squared, scaled
        weights = torch.exp(-distance.clamp_min(0.0)) * weight.unsqueeze(1)
        correction = (weights @ delta.transpose(1, 2)) / (weights.sum(2, keepdim=True) + c.fade)  # (B, HW, 2)
        return (ab + correction.transpose(1, 2).reshape_as(ab)).clamp(-1.0, 1.0)


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


__all__ = ["CELLS", "MAX_CELLS", "HintPropagation", "HintedGenerator", "PropagationConfig", "with_hints"]
