"""Bootstrap intervals with the photo as the unit (chromatic_charm.stats), on numbers known by construction."""

import numpy as np
import pytest

from chromatic_charm import stats


def test_photo_means_average_each_photos_views():
    assert stats.photo_means([1, 3, 10, 20, 30], [0, 0, 1, 1, 1]).tolist() == [2.0, 20.0]
    with pytest.raises(ValueError, match="photo ids"):
        stats.photo_means([1, 2], [0, 2])


def test_bootstrap_interval_of_paired_differences():
    assert stats.bootstrap_interval(np.full(30, -1.5)) == stats.Interval(-1.5, -1.5, -1.5)
    rng = np.random.default_rng(0)
    shifted = stats.bootstrap_interval(rng.normal(-1.0, 1.0, 40))
    assert shifted.below_zero() and not shifted.above_zero()
    assert shifted.low < shifted.value < shifted.high
    # the 95% interval of a mean of 40 N(-1, 1) draws is about +-0.31 wide
    assert 0.45 < shifted.high - shifted.low < 0.8
    noise = stats.bootstrap_interval(rng.normal(0.0, 1.0, 40))
    assert not noise.below_zero() and not noise.above_zero()


def test_bootstrap_is_reproducible_and_refuses_infinite_differences():
    d = np.random.default_rng(1).normal(0, 1, 25)
    assert stats.bootstrap_interval(d, seed=3) == stats.bootstrap_interval(d, seed=3)
    with pytest.raises(ValueError, match="not finite"):
        stats.bootstrap_interval([1.0, np.inf, 2.0])


def _brute_force_mmd(real, fake, groups):
    """Unbiased MMD^2 with KID's kernel over image pairs of different photos, pair by pair."""
    k = lambda x, y: (x @ y / len(x) + 1.0) ** 3  # noqa: E731
    total, n = 0.0, 0
    for i in range(len(real)):
        for j in range(len(real)):
            if groups[i] != groups[j]:
                total += k(real[i], real[j]) + k(fake[i], fake[j]) - k(real[i], fake[j]) - k(real[j], fake[i])
                n += 1
    return total / n


def test_kid_difference_is_the_unbiased_mmd_without_same_photo_pairs():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(6), 3)  # 6 photos x 3 views
    real = rng.normal(0, 1, (18, 8))
    a, b = real + rng.normal(0, 0.3, real.shape), rng.normal(0.8, 1, (18, 8))
    got = stats.kid_difference(real, a, b, groups, resamples=50)
    assert got.value == pytest.approx(_brute_force_mmd(real, a, groups) - _brute_force_mmd(real, b, groups))
    assert got.below_zero()  # a is close to the real images, b is shifted
    same = stats.kid_difference(real, a, a, groups, resamples=50)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)


def test_kid_difference_of_two_photos_survives_resamples_of_one():
    rng = np.random.default_rng(2)
    real = rng.normal(0, 1, (4, 5))
    got = stats.kid_difference(real, real, real + 1.0, [0, 0, 1, 1], resamples=40)
    assert np.isfinite([got.value, got.low, got.high]).all() and got.value < 0
