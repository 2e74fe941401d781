"""One pix2pix optimisation step, as in the paper: D on real vs fake pairs, then G on GAN + lambda*L1."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..models import GANLoss
from ..models.losses import rebalanced_l1
from .hints import sample_hints

LOSS_NAMES = ("loss_G_GAN", "loss_G_L1", "loss_D_real", "loss_D_fake")


@dataclass
class Networks:
    generator: nn.Module
    discriminator: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    gan_loss: GANLoss
    lambda_l1: float
    scaler: torch.amp.GradScaler | None = None  # fp16 only
    autocast_dtype: torch.dtype | None = None  # None: full precision
    # The (AB_BINS, AB_BINS) colour-rebalancing weights of the L1 term (models.losses); None: plain L1.
    l1_weights: torch.Tensor | None = None
    # A generator that takes colour hints: each step feeds it hints sampled from the true colours
    # (training.hints); the discriminator still judges (L, ab) alone.
    hints: bool = False
    # What the step calls to train: by default the generator and D on (fake, real) pairs; under
    # DDP their DistributedDataParallel wrappers (which average gradients over the ranks), and
    # with --compile their compiled versions.
    train_generator: nn.Module | None = None
    train_pair: nn.Module | None = None

    def __post_init__(self):
        if self.train_generator is None:
            self.train_generator = self.generator
        if self.train_pair is None:
            self.train_pair = DiscriminatorPair(self.discriminator)

    def autocast(self, device_type: str):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type, dtype=self.autocast_dtype)


class DiscriminatorPair(nn.Module):
    """D on the generated and on the real pair, in one forward call.

    DistributedDataParallel expects one forward per backward; the discriminator's step needs two
    (fake, then real: separate batches, so BatchNorm sees each on its own, as in the paper).
    Wrapping both in one module keeps that, and the arithmetic, identical to two plain calls.
    """

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator

    def forward(self, lightness: torch.Tensor, fake_ab: torch.Tensor, real_ab: torch.Tensor):
        return self.discriminator(lightness, fake_ab), self.discriminator(lightness, real_ab)


def _backward_step(nets: Networks, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    if nets.scaler is not None:
        nets.scaler.scale(loss).backward()
        nets.scaler.step(optimizer)
    else:
        loss.backward()
        optimizer.step()


def train_step(nets: Networks, lightness: torch.Tensor, ab: torch.Tensor, *, l1_only: bool = False,
               hint_generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Update D then G on one batch; returns the four losses as detached scalar tensors.

    ``lightness``: (B, 1, H, W) in [-1, 1]; ``ab``: (B, 2, H, W) in [-1, 1].
    With ``l1_only`` (warm-up) the discriminator is left alone and G minimises L1 only. With
    ``nets.l1_weights`` G's L1 term is colour-rebalanced; the returned ``loss_G_L1`` is the plain L1.
    With ``nets.hints`` G also gets hints sampled from ``ab`` (from ``hint_generator``'s random numbers).
    """
    device_type = lightness.device.type
    d = nets.discriminator
    with nets.autocast(device_type):
        if nets.hints:
            fake = nets.train_generator(lightness, sample_hints(ab, generator=hint_generator))
        else:
            fake = nets.train_generator(lightness)

    zero = torch.zeros((), device=lightness.device)
    loss_d_real = loss_d_fake = zero
    if not l1_only:
        d.requires_grad_(True)
        nets.opt_d.zero_grad(set_to_none=True)
        with nets.autocast(device_type):
            # Conditional GAN: D always sees the grayscale input beside the colours it judges.
            pred_fake, pred_real = nets.train_pair(lightness, fake.detach(), ab)
            loss_d_fake = nets.gan_loss(pred_fake, real=False)
            loss_d_real = nets.gan_loss(pred_real, real=True)
        _backward_step(nets, 0.5 * (loss_d_fake + loss_d_real), nets.opt_d)

    # G's step must not accumulate gradients in D; it calls the plain D (no gradient exchange).
    d.requires_grad_(False)
    nets.opt_g.zero_grad(set_to_none=True)
    with nets.autocast(device_type):
        loss_g_gan = zero if l1_only else nets.gan_loss(d(lightness, fake), real=True)
    loss_g_l1 = F.l1_loss(fake.float(), ab.float())
    objective = loss_g_l1 if nets.l1_weights is None else rebalanced_l1(fake, ab, nets.l1_weights)
    _backward_step(nets, loss_g_gan + nets.lambda_l1 * objective, nets.opt_g)
    d.requires_grad_(True)
    if nets.scaler is not None:
        nets.scaler.update()
    return {
        "loss_G_GAN": loss_g_gan.detach(),
        "loss_G_L1": loss_g_l1.detach(),
        "loss_D_real": loss_d_real.detach(),
        "loss_D_fake": loss_d_fake.detach(),
    }
