"""The pix2pix objective: a conditional GAN loss plus lambda x L1 (Isola et al. 2017, eq. 4)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..config import GAN_MODES
from ..errors import ConfigError


class GANLoss(nn.Module):
    """Loss of patch logits against an all-real or all-fake target.

    ``vanilla``: binary cross-entropy on logits (the paper's); ``lsgan``: least squares.
    """

    def __init__(self, mode: str = "vanilla"):
        super().__init__()
        if mode not in GAN_MODES:
            raise ConfigError(f"unknown GAN loss {mode!r}; choose one of {', '.join(GAN_MODES)}")
        self.mode = mode

    def forward(self, logits: torch.Tensor, real: bool) -> torch.Tensor:
        logits = logits.float()  # stable under autocast
        target = torch.ones_like(logits) if real else torch.zeros_like(logits)
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(logits, target)
        return F.mse_loss(logits, target)
