"""Hint propagation in numpy (chromatic_charm.spread): round 4's kernel as the graph has it, and the geodesic
one that keeps a hint's colour in its region."""

import math

import numpy as np
import pytest
import torch

from chromatic_charm import spread
from chromatic_charm.models.propagation import HintPropagation


def hint_map(size: int, points: list[tuple[int, int, float, float]]) -> np.ndarray:
    """(3, size, size): each point (y, x, a, b) in normalised units, with its mask."""
    out = np.zeros((3, size, size), np.float32)
    for y, x, a, b in points:
        out[:, y, x] = (a, b, 1.0)
    return out


def test_global_is_the_exported_graphs_propagation():
    rng = np.random.default_rng(0)
    lightness = rng.uniform(-1, 1, (64, 64)).astype(np.float32)
    ab = rng.uniform(-0.3, 0.3, (2, 64, 64)).astype(np.float32)
    hints = hint_map(64, [(int(y), int(x), 0.4, -0.2) for y, x in rng.integers(0, 64, (12, 2))])
    ours = spread.propagate(lightness, ab, hints, spread.SpreadConfig(method="global", spread=0.3))
    graph = HintPropagation()(*(torch.from_numpy(x)[None] for x in (lightness[None], ab, hints)))[0].numpy()
    assert ours.shape == (2, 64, 64) and np.abs(ours - graph).max() < 1e-5


def test_no_hints_changes_nothing():
    ab = np.full((2, 32, 32), 0.1, np.float32)
    for method in spread.METHODS:
        out = spread.propagate(np.zeros((32, 32), np.float32), ab, np.zeros((3, 32, 32), np.float32),
                               spread.SpreadConfig(method=method))
        assert np.array_equal(out, ab)


def test_geodesic_distance_is_the_straight_line_in_a_flat_image_and_long_across_an_edge():
    size = 64
    flat = np.zeros((size, size), np.float32)
    seeds = np.full((1, size, size), np.inf, np.float32)
    seeds[0, 10, 10] = 0.0
    config = spread.SpreadConfig()
    d = spread.geodesic(seeds, flat, np.zeros((2, size, size), np.float32), config)[0]
    ys, xs = np.mgrid[0:size, 0:size]
    straight = np.hypot(ys - 10, xs - 10) / size
    assert d[10, 10] == 0 and np.allclose(d[10, 50], 40 / size, rtol=1e-4)  # along a row: exact
    assert np.all(d >= straight - 1e-5) and np.all(d <= straight * 1.09 + 1e-5)  # 8-neighbour paths: within 8.3%
    wall = flat.copy()
    wall[:, 32:] = 60.0  # L*: a step of 60 across column 32
    d_wall = spread.geodesic(seeds, wall, np.zeros((2, size, size), np.float32), config)[0]
    assert np.allclose(d_wall[:, :28], d[:, :28], atol=1e-5)  # this side (beyond the blur of L*): as before
    assert d_wall[10, 40] > 60 / config.edge_lightness * 0.9  # the far side: at least the edge's cost


def test_a_hint_stays_in_its_region_with_geodesic_and_leaks_with_global():
    """Two regions the network coloured alike (a* 0.1), split by a lightness edge; a hint on the left asks
    for more red. Global reaches the alike right half too; geodesic stops at the edge."""
    size = 64
    lightness = np.full((size, size), 0.2, np.float32)
    lightness[:, 32:] = 0.0  # L* 60 on the left, 50 on the right: alike within round 4's sigma (10 L*)
    lightness[:, 30:34] = -0.8  # a dark line between them (L* 10, 4 px of this 64 grid): an edge
    ab = np.zeros((2, size, size), np.float32)
    ab[0] = 0.1
    hints = hint_map(size, [(32, 12, 0.5, 0.0)])
    results = {m: spread.propagate(lightness, ab, hints, spread.SpreadConfig(method=m)) for m in spread.METHODS}
    for m, out in results.items():
        assert out[0, 32, 12] == pytest.approx(0.5, abs=0.02), m  # the hinted pixel takes its colour
        assert out[0, 20, 20] > 0.4, m  # and its region around it
    assert results["global"][0, 32, 44] > 0.45  # global: across the edge, nearly all of the correction
    assert abs(results["geodesic"][0, 32, 44] - 0.1) < 0.05  # geodesic: under an eighth of it leaks


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown propagation method 'nearest'; use one of global, geodesic"):
        spread.SpreadConfig(method="nearest")
    assert math.isclose(spread.blur(np.ones((8, 8), np.float32), 1.0).mean(), 1.0, rel_tol=1e-6)


def test_many_hints_take_the_coarse_grid_and_agree_with_the_fine_one(monkeypatch):
    rng = np.random.default_rng(1)
    size = 64
    yy, xx = np.mgrid[0:size, 0:size] / size
    lightness = (0.3 * np.sin(6 * xx) + 0.2 * (yy > 0.5)).astype(np.float32)
    ab = np.stack([0.2 * np.cos(5 * yy), 0.1 * np.sin(4 * xx)]).astype(np.float32)
    hints = hint_map(size, [(int(y), int(x), *rng.uniform(-0.4, 0.4, 2)) for y, x in rng.integers(0, size, (60, 2))])
    coarse = spread.propagate(lightness, ab, hints)  # 60 hints: more cells than COARSE_ABOVE
    monkeypatch.setattr(spread, "COARSE_ABOVE", 10_000)
    fine = spread.propagate(lightness, ab, hints)
    assert np.abs(coarse - fine).mean() < 0.01 and np.abs(coarse - ab).mean() > 0.05  # alike, and both moved


def test_evaluation_scores_hints_as_they_are_served():
    """``evaluate --hints`` runs a network that does not read hints as the Colorizer does: the network, then
    the geodesic propagation (the pipeline's logged curve is the served one)."""
    from chromatic_charm.evaluation import served_hints

    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Tanh()).eval()
    lightness = torch.rand(2, 1, 32, 32) * 2 - 1
    hints = torch.zeros(2, 3, 32, 32)
    hints[:, :, 10, 10] = torch.tensor([0.4, -0.2, 1.0])
    with torch.no_grad():
        out = served_hints(network)(lightness, hints)
        plain = network(lightness)
    for i in range(2):
        expected = spread.propagate(lightness[i, 0].numpy(), plain[i].numpy(), hints[i].numpy())
        assert np.allclose(out[i].numpy(), expected, atol=1e-6)
    assert out.shape == (2, 2, 32, 32) and abs(float(out[0, 0, 10, 10]) - 0.4) < 0.02
