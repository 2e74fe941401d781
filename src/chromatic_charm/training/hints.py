"""Hints sampled from the true colours, for training and for measuring a hint-taking generator.

Training follows Zhang et al. 2017 ("Real-Time User-Guided Image Colorization with Learned Deep Priors"):
each image gets a random number of points, none for about half the images (so the automatic colours stay
as good), else a geometric number (p = 1/8, mean 8); each point is the mean true a*b* over a square patch
of 1 to 9 pixels at a random place. The map's layout is ``chromatic_charm.hints``' (a*, b*, mask).
"""

from __future__ import annotations

import torch

from ..hints import HINT_CHANNELS

P_NONE = 0.5  # share of training images without hints
GEOMETRIC_P = 1 / 8  # the number of points, when there are some: geometric with this p (mean 1/p)
MAX_POINTS = 32
MAX_PATCH = 9  # patch sides 1..MAX_PATCH pixels


def sample_training_counts(batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B,) points an image: 0 with probability P_NONE, else geometric(GEOMETRIC_P) capped at MAX_POINTS."""
    u = torch.rand(batch, generator=generator).clamp_min(1e-12)
    counts = (torch.log(u) / torch.log(torch.tensor(1 - GEOMETRIC_P))).floor().long() + 1
    none = torch.rand(batch, generator=generator) < P_NONE
    return torch.where(none, torch.zeros_like(counts), counts.clamp(max=MAX_POINTS))


def sample_hints(ab: torch.Tensor, counts: torch.Tensor | int | None = None, *, patch: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """A hint map (B, HINT_CHANNELS, H, W) from the true ``ab`` (B, 2, H, W) in the network's normalisation.

    ``counts``: points per image, a (B,) tensor or one int for all (default: ``sample_training_counts``).
    ``patch``: the side of every patch (default: uniform in 1..MAX_PATCH). The random numbers are drawn on
    the CPU from ``generator`` (default torch's global one), so a seed gives the same hints on any device.
    Where patches overlap, the later one wins."""
    b, _, h, w = ab.shape
    if counts is None:
        counts = sample_training_counts(b, generator)
    elif isinstance(counts, int):
        counts = torch.full((b,), counts, dtype=torch.long)
    counts = counts.cpu()
    out = torch.zeros(b, HINT_CHANNELS, h, w, device=ab.device, dtype=torch.float32)
    k = int(counts.max()) if b else 0
    if k == 0:
        return out
    if patch is None:
        sizes = torch.randint(1, MAX_PATCH + 1, (b, k), generator=generator)
    else:
        sizes = torch.full((b, k), patch, dtype=torch.long)
    sizes = torch.minimum(sizes, torch.tensor(min(h, w)))
    y0 = (torch.rand(b, k, generator=generator) * (h - sizes + 1)).floor().long()
    x0 = (torch.rand(b, k, generator=generator) * (w - sizes + 1)).floor().long()
    valid = torch.arange(k)[None, :] < counts[:, None]
    sizes, y0, x0, valid = (t.to(ab.device) for t in (sizes, y0, x0, valid))
    y1, x1 = y0 + sizes, x0 + sizes
    # The mean ab of each patch, from the summed-area table.
    table = torch.nn.functional.pad(ab.float().cumsum(2).cumsum(3), (1, 0, 1, 0))  # (B, 2, H+1, W+1)
    flat = table.flatten(2)  # (B, 2, (H+1)(W+1))

    def at(yy, xx):
        return flat.gather(2, (yy * (w + 1) + xx)[:, None, :].expand(b, 2, k))

    mean = (at(y1, x1) - at(y0, x1) - at(y1, x0) + at(y0, x0)) / (sizes * sizes)[:, None, :].float()  # (B, 2, K)
    rows = torch.arange(h, device=ab.device)
    cols = torch.arange(w, device=ab.device)
    in_y = (rows[None, None] >= y0[..., None]) & (rows[None, None] < y1[..., None])  # (B, K, H)
    in_x = (cols[None, None] >= x0[..., None]) & (cols[None, None] < x1[..., None])  # (B, K, W)
    covered = in_y[..., :, None] & in_x[..., None, :] & valid[..., None, None]  # (B, K, H, W)
    order = torch.arange(1, k + 1, device=ab.device)[None, :, None, None]
    last = (covered.long() * order).amax(dim=1)  # (B, H, W): 1 + the last patch covering it, 0 = none
    values = torch.cat([torch.zeros(b, 2, 1, device=ab.device), mean], dim=2)  # (B, 2, K+1)
    out[:, :2] = values.gather(2, last.flatten(1)[:, None, :].expand(b, 2, h * w)).view(b, 2, h, w)
    out[:, 2] = (last > 0).float()
    return out


__all__ = ["MAX_PATCH", "MAX_POINTS", "P_NONE", "sample_hints", "sample_training_counts"]
