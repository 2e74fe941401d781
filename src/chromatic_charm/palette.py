"""Suggested hint colours: the common a*b* of the training photos at each lightness (issue 34).

A person who clicks a sky wants a sky's blue, at the sky's own lightness. ``build`` finds, for each band
of 10 L* in the training photos, the most common a*b* (peaks of a smoothed 2-D histogram, each at least
``min_distance`` a*b* units from the ones before it, so that the few suggestions differ: a green, a blue,
a brown, ...). ``export`` writes the result into the model's metadata (``"palette"``), and the API's
``GET /suggestions`` gives, for the lightness of a clicked pixel, each suggestion as the sRGB colour it
is at that lightness: the page shows exactly the colour a hint will give there (the API keeps a hint's
chroma and hue and the photo's own lightness).

A colour that sRGB cannot show at that lightness (a saturated blue near white) keeps its hue and loses
chroma until it fits (``hints.fit_chroma``, what the API does to a hint of it), so every swatch is the
colour a hint of it gives there, not a clipped one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import color
from .hints import HintError, fit_chroma, parse_color

L_STEP = 10  # L* per band: 10 bands over 0..100
BANDS = 100 // L_STEP
GREY_CHROMA = 8.0  # a*b* chroma under which a colour is grey (a peak there is not offered as a colour)

# Hue names for screen readers and tests, by CIELAB hue angle in degrees (the start of each range).
_HUES = ((0, "pink"), (20, "red"), (50, "orange"), (75, "yellow"), (110, "green"), (170, "teal"),
         (230, "blue"), (300, "purple"), (340, "pink"))


def build(rgb: np.ndarray, *, per_band: int = 6, ab_bin: float = 6.0, min_distance: float = 20.0,
          stride: int = 2) -> dict:
    """The palette of photos ``rgb``: (N, H, W, 3) uint8 sRGB. Every ``stride``-th pixel along each side
    is counted. Returns ``{"l_step": 10, "photos": N, "bands": [[[a, b, share], ...] x 10]}``: for each band
    (L* 0-10, 10-20, ...), up to ``per_band`` colours of chroma >= GREY_CHROMA, most common first, each
    the mean a*b* of its peak's pixels (3x3 bins of ``ab_bin``) with their share of the band's pixels."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected photos as (N, H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    edges = np.arange(-128.0, 128.0 + ab_bin, ab_bin)
    centres = (edges[:-1] + edges[1:]) / 2
    a_grid, b_grid = np.meshgrid(centres, centres, indexing="ij")
    # per band: the pixels of colour in each a*b* bin, and the sums of their a* and b* (for the centroids)
    sums = np.zeros((BANDS, 3, len(centres), len(centres)))
    totals = np.zeros(BANDS)  # every pixel of the band, greys included: the shares' denominator
    for photo in rgb:  # photo by photo: the Lab of a whole split at once would take gigabytes
        lab = color.rgb_to_lab(photo[::stride, ::stride].astype(np.float32) / 255).reshape(-1, 3)
        band = np.minimum((lab[:, 0] // L_STEP).astype(int), BANDS - 1)
        totals += np.bincount(band, minlength=BANDS)
        coloured = np.hypot(lab[:, 1], lab[:, 2]) >= GREY_CHROMA
        for k in np.unique(band[coloured]):
            inside = coloured & (band == k)
            for c, weights in enumerate((None, lab[inside, 1], lab[inside, 2])):
                sums[k, c] += np.histogram2d(lab[inside, 1], lab[inside, 2], bins=(edges, edges), weights=weights)[0]
    bands = []
    for (counts, a_sum, b_sum), total in zip(sums, totals):
        smooth, a_near, b_near = _box3(counts), _box3(a_sum), _box3(b_sum)
        picks = []
        while len(picks) < per_band and smooth.max() > 0:
            i, j = np.unravel_index(np.argmax(smooth), smooth.shape)
            # the peak's colour: the mean a*b* of the pixels in its 3x3 bins, not a bin's corner
            picks.append([round(float(a_near[i, j] / smooth[i, j]), 1), round(float(b_near[i, j] / smooth[i, j]), 1),
                          round(float(smooth[i, j] / total), 5)])
            smooth[np.hypot(a_grid - centres[i], b_grid - centres[j]) < min_distance] = 0
        bands.append(picks)
    return {"l_step": L_STEP, "photos": int(len(rgb)), "ab_bin": ab_bin, "min_distance": min_distance,
            "bands": bands}


def _box3(hist: np.ndarray) -> np.ndarray:
    """The sum of each bin's 3x3 neighbourhood (zeros beyond the edges): peaks of areas, not of single bins."""
    padded = np.pad(hist, 1)
    h, w = hist.shape
    return sum(padded[i:i + h, j:j + w] for i in range(3) for j in range(3))


def from_data(data_dir: str | Path) -> dict | None:
    """The palette of a clean data folder's training split (``train.npy``), or None without one."""
    path = Path(data_dir) / "train.npy"
    if not path.is_file():
        return None
    rgb = np.load(path, mmap_mode="r")
    if len(rgb) == 0:
        return None
    palette = build(rgb)
    palette["source"] = f"{path.parent.name}/{path.name}"
    return palette


def suggestions(palette: dict | None, lightness: float) -> list[dict]:
    """The colours to offer at L* ``lightness`` (0-100): the palette band's colours, then a grey, each as
    ``{"color": "#rrggbb", "name": "blue", "a": ..., "b": ..., "share": ...}``, the sRGB colour at that
    lightness (chroma reduced into sRGB's gamut where needed, as a hint of it is). Without a palette: the
    grey only."""
    if not 0 <= lightness <= 100 or math.isnan(lightness):
        raise ValueError(f"lightness must be an L* between 0 and 100, got {lightness}")
    band = min(int(lightness // L_STEP), BANDS - 1)
    chosen = palette["bands"][band] if palette else []
    ab = np.array([[a, b] for a, b, _ in chosen] + [[0.0, 0.0]], np.float64)  # the band's colours, then grey
    fitted = fit_chroma(np.full(len(ab), float(lightness)), ab)
    rgb = color.lab_to_rgb(np.column_stack([np.full(len(ab), float(lightness)), fitted]))
    out = []
    for (a_in, b_in), pixel, share in zip(fitted, rgb, [c[2] for c in chosen] + [None]):
        hex_colour = "#" + "".join(f"{round(float(v) * 255):02x}" for v in pixel)
        grey = share is None
        if not grey and (math.hypot(a_in, b_in) < GREY_CHROMA / 2 or any(o["color"] == hex_colour for o in out)):
            continue  # nothing of its colour is left at this lightness, or it looks like one already offered
        out.append({"color": hex_colour, "name": "grey" if grey else hue_name(a_in, b_in, lightness),
                     "a": round(float(a_in), 1), "b": round(float(b_in), 1), "share": share})
    return out


def hue_name(a: float, b: float, lightness: float) -> str:
    """A plain name for the colour a*b* at L*: "grey" under GREY_CHROMA, "brown" for a dark orange or
    yellow, "beige" for a pale one, else the hue's name (red, orange, yellow, green, teal, blue, purple,
    pink)."""
    if math.hypot(a, b) < GREY_CHROMA:
        return "grey"
    angle = math.degrees(math.atan2(b, a)) % 360
    name = [n for start, n in _HUES if angle >= start][-1]
    if 30 <= angle < 110 and lightness < 50:
        return "brown"
    if 20 <= angle < 110 and math.hypot(a, b) < 20:
        return "beige"
    return name


def lightness_of(hex_colour: str) -> float:
    """L* of an sRGB colour '#rrggbb' (or 'rrggbb'); ValueError when it is not one."""
    try:
        rgb = np.array(parse_color(hex_colour), np.float64) / 255
    except HintError:
        raise ValueError(f"expected a colour as #rrggbb, got {hex_colour!r}") from None
    return float(color.rgb_to_lab(rgb)[0])
