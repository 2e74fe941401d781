"""U-Net generator in the style of pix2pix's ``unet_256`` (Isola et al. 2017, appendix 6.1.1).

Encoder: C64-C128-C256-C512-C512-C512-C512-C512, each a stride-2 4x4 convolution; decoder mirrors it
with skip connections, dropout 0.5 on the three innermost decoder blocks. With ``num_downs=8`` a
256x256 input reaches a 1x1 bottleneck, exactly as ``unet_256``; tiny configurations (fewer downs,
a few channels) run in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..hints import HINT_CHANNELS


@dataclass(frozen=True)
class GeneratorConfig:
    in_channels: int = 1  # L
    out_channels: int = 2  # ab
    ngf: int = 64  # channels of the first encoder block
    num_downs: int = 8  # 8 for 256x256 inputs (unet_256); input side must be divisible by 2**num_downs
    max_mult: int = 8  # channel multiplier cap (512 = 8 x 64 in unet_256)
    dropout: float = 0.5  # on the three innermost decoder blocks; 0 disables
    # "input": the generator also takes a hint map (chromatic_charm.hints), concatenated to L at its input.
    hints: str = "none"

    def __post_init__(self):
        if self.hints not in HINT_MODES:
            raise ConfigError(f"pix2pix's U-Net takes hints at its input: hints must be one of {', '.join(HINT_MODES)}, "
                              f"got {self.hints!r}")


HINT_MODES = ("none", "input")


def _down(cin: int, cout: int, *, outermost: bool, innermost: bool) -> nn.Sequential:
    # pix2pix: no activation before the first conv, no norm on the first conv nor the bottleneck.
    layers: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2, inplace=True)]
    use_norm = not (outermost or innermost)
    layers.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=not use_norm))
    if use_norm:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers)


def _up(cin: int, cout: int, *, outermost: bool, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ReLU(inplace=True)]
    if outermost:
        layers += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.Tanh()]
    else:
        layers += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class UNetGenerator(nn.Module):
    """L -> ab.

    Input: ``L`` (B, 1, H, W) float in [-1, 1], H and W divisible by ``2**num_downs``.
    Output: ``ab`` (B, 2, H, W) float in [-1, 1] (tanh), to be scaled by ``color.denormalize_ab``.
    With ``config.hints == "input"`` it also takes ``hints`` (B, 3, H, W) (``chromatic_charm.hints``; None =
    no hints).
    """

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        if config.num_downs < 2:
            raise ConfigError(f"num_downs must be >= 2, got {config.num_downs}")
        self.config = config
        self.takes_hints = config.hints != "none"
        widths = [config.ngf * min(2**i, config.max_mult) for i in range(config.num_downs)]
        n = config.num_downs
        self.downs = nn.ModuleList(
            _down(config.in_channels + (HINT_CHANNELS if self.takes_hints else 0) if i == 0 else widths[i - 1], widths[i], outermost=i == 0, innermost=i == n - 1)
            for i in range(n)
        )
        # Decoder block i maps the features at depth i+1 (concatenated with the skip, except at the
        # bottleneck) to the width of depth i; the last one outputs ab.
        ups = []
        for i in reversed(range(n)):
            cin = widths[i] if i == n - 1 else 2 * widths[i]
            cout = config.out_channels if i == 0 else widths[i - 1]
            dropout = config.dropout if 1 <= n - 1 - i <= 3 and i != 0 else 0.0
            ups.append(_up(cin, cout, outermost=i == 0, dropout=dropout))
        self.ups = nn.ModuleList(ups)

    @property
    def multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 2**self.config.num_downs

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        h, w = lightness.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input size {h}x{w} is not divisible by {self.multiple} (2**num_downs)")
        skips = []
        x = lightness
        if self.takes_hints:
            x = torch.cat([lightness, hint_input(lightness, hints)], dim=1)
        elif hints is not None:
            raise ValueError("this generator was trained without hints; pass hints=None")
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()  # the bottleneck feeds the first decoder block directly
        for up in self.ups[:-1]:
            x = torch.cat([up(x), skips.pop()], dim=1)
        return self.ups[-1](x)


def hint_input(lightness: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor:
    """The hint map to feed beside ``lightness``: ``hints`` checked, or zeros (no hints)."""
    b, _, h, w = lightness.shape
    if hints is None:
        return lightness.new_zeros(b, HINT_CHANNELS, h, w)
    if hints.shape[1:] != (HINT_CHANNELS, h, w):
        raise ValueError(f"hints must be (B, {HINT_CHANNELS}, {h}, {w}) like the input, got {tuple(hints.shape)}")
    # A batch of 1 is every image's (an exported graph's default of zeros, fed beside a batch of L).
    return hints.to(lightness.dtype).expand(lightness.shape[0], -1, -1, -1)
