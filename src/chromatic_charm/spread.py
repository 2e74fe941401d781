"""Hint propagation in numpy (torch-free): a user's colour points spread over the network's colours.

``models.propagation`` spreads each hint's correction (hint minus the network's a*b* there) inside the
exported graph, as a weighted mean over the hinted cells, each weighted by a Gaussian of the straight-line
distance in the image and of the likeness in lightness and in the network's colour: a correction reaches
every alike pixel anywhere in the photo, across edges (issue 34: an orange sky hint turned the mountain
tops orange; a grey hint on a cat's forehead turned the whole cat grey).

``geodesic`` (issue 34) replaces the straight-line distance by a geodesic one, as Yatziv and Sapiro
("Fast image and video colorization using chrominance blending", 2006) blend scribbles' chrominance by
their geodesic distance on the luminance: the length of the shortest path from the hint, each step of the
path costing

    sqrt((step / side)^2 + (dL* / edge_lightness)^2 + (d(a*b*) / edge_colour)^2)

in image sides, where dL* and d(a*b*) are the differences of lightness and of the network's colour between
the step's two pixels. A path along a smooth region is about as long as the straight line; a step across
an edge of ``edge_lightness`` L* (or ``edge_colour`` a*b*) costs a whole side, so a correction stays in the
region it was given in and stops at its edges. The rest is ``models.propagation``'s formula (same cells,
same endpoint likeness, same fade), which ``global`` reproduces here in numpy (with the straight line).

The distances are computed by alternating raster sweeps (down, up, right, left; ``rounds`` times) over the
network's grid, one map per hinted cell, vectorised across cells: the work grows with the hinted cells and
is none without hints.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .color import AB_SCALE

CELLS = 32  # hint cells along each side of the grid (as models.propagation)
MAX_CELLS = 256
COARSE_ABOVE = 32  # more hinted cells than this: the geodesic distances on a grid of half the side
METHODS = ("global", "geodesic")


@dataclass(frozen=True)
class SpreadConfig:
    method: str = "geodesic"
    # The defaults are round 6's choice on the val split (studies/hints/README.md); ``global`` uses round 4's
    # spread (0.3) in the exported graph.
    spread: float = 0.5  # sigma of the (straight or geodesic) distance, as a share of the image side
    lightness_sigma: float = 10.0  # L*: likeness of a pixel's lightness to the hinted cell's
    colour_sigma: float = 5.5  # a*b*: likeness of the network's colours there
    fade: float = 0.01  # a pixel whose weights sum to w takes w / (w + fade) of the mean correction
    edge_lightness: float = 60.0  # L*: a step across this much lightness costs one image side (geodesic)
    edge_colour: float = 40.0  # a*b*: likewise for the network's colour (geodesic)
    edge_blur: float = 1.0  # grid pixels: the L* whose steps are costed is blurred so (Gaussian sigma), so that
    # texture (foliage, gravel) is not an edge at every pixel; the network's colours are smooth already
    # Sweeps of the geodesic distance (each: down, up, right, left). Round 6's runs used 2; 1 moves their val
    # numbers by under 0.003 (harm 0.042 against 0.044, K = 10 ratio 0.483 against 0.480) in half the time.
    rounds: int = 1

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown propagation method {self.method!r}; use one of {', '.join(METHODS)}")

    def describe(self) -> dict:
        return asdict(self)


def from_metadata(hints: dict | None) -> SpreadConfig | None:
    """The propagation an export's metadata (its ``hints`` entry) names in ``spread``, for a network that does
    not read the hints itself; None: the graph's own (earlier exports, networks trained with ``--hints``)."""
    if not hints or not isinstance(hints.get("spread"), dict) or hints.get("learned", "none") != "none":
        return None
    names = {f.name for f in fields(SpreadConfig)}
    return SpreadConfig(**{k: v for k, v in hints["spread"].items() if k in names})


def propagate(lightness: np.ndarray, ab: np.ndarray, hints: np.ndarray,
              config: SpreadConfig = SpreadConfig()) -> np.ndarray:
    """``lightness`` (S, S) normalised L (L* / 50 - 1), the network's ``ab`` (2, S, S) and the ``hints``
    map (3, S, S), both normalised as the network's (a* / AB_SCALE; ``hints.to_grid``) -> ab (2, S, S)
    float32 with the hints' corrections spread, clipped to [-1, 1]. No hints: ``ab`` unchanged."""
    c = config
    ab = np.asarray(ab, np.float32)
    mask = np.asarray(hints[2], np.float32)
    if not mask.any():
        return ab.copy()
    h, w = mask.shape
    l_star = (np.asarray(lightness, np.float32) + 1.0) * 50.0
    ab_star = ab * AB_SCALE
    delta = (np.asarray(hints[:2], np.float32) - ab) * mask  # corrections, normalised units

    # Pool the hinted pixels into cells: weight = hinted pixels, the rest = their means.
    ch, cw = max(1, h // CELLS), max(1, w // CELLS)
    gh, gw = h // ch, w // cw
    pool = lambda x: x[..., : gh * ch, : gw * cw].reshape(*x.shape[:-2], gh, ch, gw, cw).sum((-3, -1))  # noqa: E731
    count = pool(mask).reshape(-1)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    sums = pool(np.stack([ys * mask, xs * mask, l_star * mask, ab_star[0] * mask, ab_star[1] * mask,
                          delta[0], delta[1]])).reshape(7, -1)
    cells = np.flatnonzero(count > 0)
    if len(cells) > MAX_CELLS:  # the best covered, ties broken by a fixed scatter (as models.propagation)
        scatter = np.remainder(np.arange(len(count), dtype=np.float32) * 0.6180339887, 1.0)
        rank = count + 0.5 * scatter
        cells = np.sort(cells[np.argsort(-rank[cells], kind="stable")[:MAX_CELLS]])
    weight = count[cells]
    means = sums[:, cells] / weight  # (7, k): y, x, L*, a*, b*, delta a, delta b

    # Each pixel's distance to each cell, in image sides.
    if c.method == "global":
        dy = (ys.reshape(-1, 1) - means[0]) / h
        dx = (xs.reshape(-1, 1) - means[1]) / w
        distance2 = (dy**2 + dx**2).T.reshape(len(cells), h, w)
    else:
        # Many hinted cells: the maps on a grid of half the side (a quarter of the work, and half the sweeps'
        # steps), each coarse pixel's distance then shared by its 2x2 pixels.
        f = 2 if len(cells) > COARSE_ABOVE and h % 2 == 0 and w % 2 == 0 else 1
        down = lambda x: x.reshape(*x.shape[:-2], h // f, f, w // f, f).mean((-3, -1))  # noqa: E731
        seeds = np.full((len(cells), h // f, w // f), np.inf, np.float32)
        cell_of = (np.minimum(ys // ch, gh - 1) * gw + np.minimum(xs // cw, gw - 1)).astype(np.int64)
        hinted_y, hinted_x = np.nonzero(mask > 0)
        rows = np.searchsorted(cells, cell_of[hinted_y, hinted_x])
        kept = (rows < len(cells)) & (cells[np.minimum(rows, len(cells) - 1)] == cell_of[hinted_y, hinted_x])
        seeds[rows[kept], hinted_y[kept] // f, hinted_x[kept] // f] = 0.0
        distance = geodesic(seeds, down(l_star), down(ab_star), c)
        if f > 1:
            distance = distance.repeat(f, axis=1).repeat(f, axis=2)
        distance2 = distance**2
    likeness = ((l_star[None] - means[2][:, None, None]) ** 2 / (2 * c.lightness_sigma**2)
                + ((ab_star[0][None] - means[3][:, None, None]) ** 2 + (ab_star[1][None] - means[4][:, None, None]) ** 2)
                / (2 * c.colour_sigma**2))
    weights = np.exp(-(distance2 / (2 * c.spread**2) + likeness)) * weight[:, None, None]  # (k, h, w)
    total = weights.sum(0)
    correction = np.tensordot(means[5:7], weights, axes=(1, 0)) / (total + c.fade)
    return np.clip(ab + correction, -1.0, 1.0).astype(np.float32)


def step_costs(l_star: np.ndarray, ab_star: np.ndarray, config: SpreadConfig) -> dict[str, np.ndarray]:
    """The cost of each step between neighbouring pixels, in image sides: ``v`` (y to y+1), ``h`` (x to
    x+1), ``d1`` ((y, x) to (y+1, x+1)), ``d2`` ((y, x+1) to (y+1, x))."""
    side = float(max(l_star.shape))
    feats = np.concatenate([blur(l_star, config.edge_blur)[None] / config.edge_lightness, ab_star / config.edge_colour])

    def cost(a, b, length):
        return np.sqrt((length / side) ** 2 + ((a - b) ** 2).sum(0)).astype(np.float32)

    return {"v": cost(feats[:, 1:, :], feats[:, :-1, :], 1.0), "h": cost(feats[:, :, 1:], feats[:, :, :-1], 1.0),
            "d1": cost(feats[:, 1:, 1:], feats[:, :-1, :-1], math.sqrt(2)),
            "d2": cost(feats[:, 1:, :-1], feats[:, :-1, 1:], math.sqrt(2))}


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian blur of a (h, w) image (edges repeated); ``sigma`` <= 0: the image itself."""
    if sigma <= 0:
        return image
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    padded = np.pad(image, radius, mode="edge")
    rows = sum(t * padded[:, i: i + image.shape[1]] for i, t in enumerate(taps))
    return sum(t * rows[i: i + image.shape[0]] for i, t in enumerate(taps)).astype(np.float32)


def geodesic(seeds: np.ndarray, l_star: np.ndarray, ab_star: np.ndarray, config: SpreadConfig) -> np.ndarray:
    """Geodesic distances (k, h, w) from ``seeds`` (k, h, w: 0 at a seed, inf elsewhere) over the image whose
    L* is ``l_star`` (h, w) and whose colour is ``ab_star`` (2, h, w), by raster sweeps."""
    cost = step_costs(l_star, ab_star, config)
    v, hz, d1, d2 = cost["v"], cost["h"], cost["d1"], cost["d2"]
    d = seeds.copy()
    n_rows, n_cols = d.shape[1:]
    for _ in range(config.rounds):
        for y in range(1, n_rows):  # down: from row y-1
            prev = d[:, y - 1]
            cand = prev + v[y - 1]
            np.minimum(cand[:, 1:], prev[:, :-1] + d1[y - 1], out=cand[:, 1:])
            np.minimum(cand[:, :-1], prev[:, 1:] + d2[y - 1], out=cand[:, :-1])
            np.minimum(d[:, y], cand, out=d[:, y])
        for y in range(n_rows - 2, -1, -1):  # up: from row y+1
            prev = d[:, y + 1]
            cand = prev + v[y]
            np.minimum(cand[:, :-1], prev[:, 1:] + d1[y], out=cand[:, :-1])
            np.minimum(cand[:, 1:], prev[:, :-1] + d2[y], out=cand[:, 1:])
            np.minimum(d[:, y], cand, out=d[:, y])
        for x in range(1, n_cols):  # right: from column x-1
            prev = d[:, :, x - 1]
            cand = prev + hz[:, x - 1]
            np.minimum(cand[:, 1:], prev[:, :-1] + d1[:, x - 1], out=cand[:, 1:])
            np.minimum(cand[:, :-1], prev[:, 1:] + d2[:, x - 1], out=cand[:, :-1])
            np.minimum(d[:, :, x], cand, out=d[:, :, x])
        for x in range(n_cols - 2, -1, -1):  # left: from column x+1
            prev = d[:, :, x + 1]
            cand = prev + hz[:, x]
            np.minimum(cand[:, :-1], prev[:, 1:] + d1[:, x], out=cand[:, :-1])
            np.minimum(cand[:, 1:], prev[:, :-1] + d2[:, x], out=cand[:, 1:])
            np.minimum(d[:, :, x], cand, out=d[:, :, x])
    return d


__all__ = ["METHODS", "SpreadConfig", "blur", "from_metadata", "geodesic", "propagate", "step_costs"]
