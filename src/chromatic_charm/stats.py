"""The spread of a number measured on few photos: paired bootstrap intervals with the photo as the unit.

A test split of a few dozen photos, each seen as several views (crops), gives numbers whose differences
can be noise. The views of one photo are not independent samples, so every interval here resamples
photos, never views:

- ``photo_means``: a per-image value (CIEDE2000, PSNR, colourfulness) averaged over each photo's views.
- ``bootstrap_interval``: the mean of paired per-photo differences (model minus reference) with a
  percentile bootstrap interval (photos drawn with replacement, fixed seed).
- ``kid_difference``: KID(model) - KID(reference) against the same real images, as an unbiased MMD^2
  with KID's kernel, over pairs of images from *different* photos only (so a photo drawn twice by the
  bootstrap, or two views of one photo, never pairs with itself), with its bootstrap interval.

An interval that contains 0 means "no difference" at this N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean (or a difference) and its bootstrap interval at ``LEVEL``."""

    value: float
    low: float
    high: float

    def below_zero(self) -> bool:
        return self.high < 0

    def above_zero(self) -> bool:
        return self.low > 0

    def __str__(self) -> str:
        return f"{self.value:+.3g} [{self.low:+.3g}, {self.high:+.3g}]"


def photo_means(values, groups) -> np.ndarray:
    """(N,) per-image values and (N,) photo ids 0..P-1 -> (P,) mean over each photo's images."""
    values, groups = np.asarray(values, np.float64), np.asarray(groups)
    if values.shape != groups.shape or values.ndim != 1:
        raise ValueError(f"values {values.shape} and groups {groups.shape} must be two (N,) arrays")
    counts = np.bincount(groups)
    if (counts == 0).any():
        raise ValueError("photo ids must be 0..P-1, each with at least one image")
    return np.bincount(groups, weights=values) / counts


def _draws(n_photos: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, P) how many times each photo is drawn in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_photos, np.full(n_photos, 1.0 / n_photos), size=resamples)


def _percentiles(samples: np.ndarray, value: float) -> Interval:
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.nanpercentile(samples, [tail, 100 - tail])  # nan: a resample with nothing to compare
    return Interval(float(value), float(low), float(high))


def bootstrap_interval(differences, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> Interval:
    """(P,) paired per-photo differences -> their mean and its percentile bootstrap interval."""
    d = np.asarray(differences, np.float64)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError(f"need the differences of at least 2 photos, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("a per-photo difference is not finite (an identical image has infinite PSNR)")
    counts = _draws(len(d), resamples, seed)
    return _percentiles(counts @ d / len(d), d.mean())


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's polynomial kernel (x.y / d + 1)^3 (Binkowski et al. 2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _photo_sums(k: np.ndarray, groups: np.ndarray, n_photos: int) -> np.ndarray:
    """(N, N) image kernel -> (P, P) sums over the images of each pair of photos."""
    onehot = np.zeros((len(groups), n_photos))
    onehot[np.arange(len(groups)), groups] = 1.0
    return onehot.T @ k @ onehot


def kid_difference(real, fake_a, fake_b, groups, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> Interval:
    """KID(real, fake_a) - KID(real, fake_b), three (N, D) feature sets of the same N views, ``groups`` (N,)
    photo ids: an unbiased MMD^2 over pairs of images of different photos, and its bootstrap interval
    (photos resampled, the same draws for both models)."""
    real, fake_a, fake_b = (np.asarray(f, np.float64) for f in (real, fake_a, fake_b))
    groups = np.asarray(groups)
    n_photos = int(groups.max()) + 1
    if n_photos < 2 or not (real.shape == fake_a.shape == fake_b.shape) or len(groups) != len(real):
        raise ValueError("need the same N views (of at least 2 photos) in real, fake_a, fake_b and groups")
    rr = _photo_sums(_kernel(real, real), groups, n_photos)
    views = np.bincount(groups, minlength=n_photos).astype(np.float64)

    def terms(fake: np.ndarray) -> np.ndarray:
        ff = _photo_sums(_kernel(fake, fake), groups, n_photos)
        rf = _photo_sums(_kernel(real, fake), groups, n_photos)
        t = rr + ff - rf - rf.T
        np.fill_diagonal(t, 0.0)  # no pair within one photo
        return t

    t = terms(fake_a) - terms(fake_b)
    pairs = np.outer(views, views)
    np.fill_diagonal(pairs, 0.0)

    def estimate(weights: np.ndarray) -> np.ndarray:  # (R, P) -> (R,); nan where one photo was drawn every time
        n_pairs = np.einsum("rp,pq,rq->r", weights, pairs, weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.einsum("rp,pq,rq->r", weights, t, weights) / n_pairs

    point = float(estimate(np.ones((1, n_photos)))[0])
    return _percentiles(estimate(_draws(n_photos, resamples, seed).astype(np.float64)), point)
