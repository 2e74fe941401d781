"""The pix2pix objective: a conditional GAN loss plus lambda x L1 (Isola et al. 2017, eq. 4), and the
optional colour rebalancing of the L1 term (Zhang et al. 2016)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import color
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


# --- colour rebalancing (Zhang, Isola and Efros 2016, "Colorful Image Colorization", section 2.2) ----------
#
# Most pixels of most photos are nearly gray (walls, roads, skies at dusk), so a loss averaged over pixels
# is won by predicting little colour: an L1 model paints the median colour of what it is unsure of, which
# is close to gray. Zhang et al. weight each pixel by the rarity of its true colour: the empirical
# distribution p of a*b* over the training photos, in bins of 10, smoothed with a Gaussian (sigma 5), mixed
# with the uniform distribution over the bins the photos use (weight 1 - s), inverted and normalised so
# that the expected weight is 1. s = 0 is plain L1; Zhang et al. use s = 0.5; s = 1 (pure inverse
# frequency) is refused: a colour seen once would weigh thousands. Only the generator's objective changes: the logged L1 and the val L1 stay plain.

AB_BIN = 10.0  # a*b* units, as in Zhang et al.
AB_BINS = 22  # bins per axis over [-110, 110]: the network's output range (color.AB_SCALE)
AB_SIGMA = 5.0  # the smoothing's standard deviation, a*b* units


def ab_histogram(ab: np.ndarray) -> np.ndarray:
    """Counts of a*b* (Lab units, any shape ending in 2) in the (AB_BINS, AB_BINS) grid over [-110, 110]."""
    index = _bin_index(np.asarray(ab, dtype=np.float64).reshape(-1, 2))
    return np.bincount(index, minlength=AB_BINS * AB_BINS).reshape(AB_BINS, AB_BINS).astype(np.float64)


def _bin_index(ab):
    """Flat bin index of a*b* values (Lab units), numpy or torch, last axis (a, b)."""
    half = AB_BINS * AB_BIN / 2
    if isinstance(ab, torch.Tensor):
        cells = ((ab + half) / AB_BIN).floor().long().clamp_(0, AB_BINS - 1)
    else:
        cells = np.clip(np.floor((ab + half) / AB_BIN).astype(np.int64), 0, AB_BINS - 1)
    return cells[..., 0] * AB_BINS + cells[..., 1]


def rebalance_weights(counts: np.ndarray, strength: float) -> np.ndarray:
    """The weight of each a*b* bin: ``1 / (strength * p_smoothed + (1 - strength) / Q)``, normalised to
    an expected weight of 1 under p, where Q is the number of bins the photos use."""
    if not 0 <= strength < 1:
        raise ConfigError(f"colour rebalancing must be in [0, 1), got {strength}")
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (AB_BINS, AB_BINS) or counts.sum() <= 0:
        raise ValueError(f"expected a non-empty ({AB_BINS}, {AB_BINS}) histogram")
    p = counts / counts.sum()
    # A separable Gaussian of sigma 5 units = 0.5 bins, truncated at 3 sigma (2 bins each way).
    offsets = np.arange(-2, 3)
    kernel = np.exp(-0.5 * (offsets * AB_BIN / AB_SIGMA) ** 2)
    kernel /= kernel.sum()
    smooth = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="same"), 0, p)
    smooth = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="same"), 1, smooth)
    used = counts > 0
    weights = np.zeros_like(p)
    weights[used] = 1.0 / (strength * smooth[used] + (1.0 - strength) / used.sum())
    weights /= (p * weights).sum()
    return weights


def rebalanced_l1(fake: torch.Tensor, real: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean over pixels of ``w(true colour) x |fake - real|``; ``fake``/``real``: (B, 2, H, W) normalised
    ab, ``weights``: the (AB_BINS, AB_BINS) table of ``rebalance_weights`` on their device."""
    true_ab = color.denormalize_ab(real.float()).movedim(1, -1)  # (B, H, W, 2), Lab units
    w = weights.flatten()[_bin_index(true_ab)].unsqueeze(1)  # (B, 1, H, W)
    return (w * (fake.float() - real.float()).abs()).mean()
