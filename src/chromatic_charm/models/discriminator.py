"""70x70 PatchGAN discriminator (Isola et al. 2017), conditional on the grayscale input.

It judges (L, ab) pairs: the input is L and ab concatenated, 3 channels, so it can tell whether the
colours fit *this* photo and not only whether they look like colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DiscriminatorConfig:
    in_channels: int = 3  # L + ab
    ndf: int = 64
    n_layers: int = 3  # 3 gives the 70x70 receptive field
    max_mult: int = 8


class PatchDiscriminator(nn.Module):
    """(L, ab) -> a grid of real/fake logits, one per overlapping patch.

    Input: ``L`` (B, 1, H, W) and ``ab`` (B, 2, H, W), both in [-1, 1].
    Output: logits (B, 1, H', W'); for 256x256 and ``n_layers=3``, H' = W' = 30.
    """

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig()):
        super().__init__()
        self.config = config
        ndf, cap = config.ndf, config.max_mult
        layers: list[nn.Module] = [
            nn.Conv2d(config.in_channels, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        width = ndf
        for i in range(1, config.n_layers + 1):
            stride = 2 if i < config.n_layers else 1  # the last block keeps the resolution
            out = ndf * min(2**i, cap)
            layers += [
                nn.Conv2d(width, out, 4, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat([lightness, ab], dim=1))
