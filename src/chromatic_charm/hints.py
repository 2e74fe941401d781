"""Colour hints: a user's points, checked, and turned into the network's hint map. Torch-free.

A hint is a point of the photo with the colour a person says it has (Zhang et al., "Real-Time
User-Guided Image Colorization with Learned Deep Priors", 2017). A generator trained with ``--hints``
takes, beside L, a hint map of ``HINT_CHANNELS`` planes on its input grid, in its own normalisation:

- planes 0 and 1: a* / AB_SCALE and b* / AB_SCALE at the hinted pixels, 0 elsewhere;
- plane 2: the mask, 1 at a hinted pixel, 0 elsewhere.

All zeros is "no hints": the automatic colouriser. A user's hint is given in the uploaded photo's own
pixel coordinates (``x`` to the right, ``y`` down, from 0), with a colour ``#rrggbb`` and an optional
``radius`` in photo pixels; it covers a square of the network's grid around that point (one grid pixel
at radius 0, the default) and carries the chroma and hue of its colour at the photo's own lightness
there, shrunk where that lightness cannot show it in sRGB (a bright yellow on a dark wall becomes the
darkest yellow-brown sRGB has), so the photo keeps its tones and the result the colour asked for.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

from . import color
from .errors import UserError

HINT_CHANNELS = 3
MAX_HINTS = 256
MAX_RADIUS = 512  # photo pixels: a hint is a point, not a fill
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
_KEYS = {"x", "y", "color", "radius"}


class HintError(UserError):
    """A bad hint (HTTP 400): the message names the hint and says what is wrong."""


@dataclass(frozen=True)
class Hint:
    x: float  # photo pixels, 0 = the left edge's pixel
    y: float
    rgb: tuple[int, int, int]
    radius: float = 0.0

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


def parse_color(value, where: str = "color") -> tuple[int, int, int]:
    """``#rrggbb`` (or ``rrggbb``) -> (r, g, b) in 0..255; a HintError otherwise."""
    match = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise HintError(f"{where} {value!r} is not a colour; write it as #rrggbb, e.g. #c0392b")
    text = match.group(1)
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _number(item: dict, key: str, index: int) -> float:
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HintError(f"hint {index}: {key} must be a number, got {json.dumps(value)}")
    return float(value)


def parse(value) -> list[Hint]:
    """Hints from JSON text (the API's form field) or already-decoded JSON: a list of ``{"x", "y", "color"}``
    objects, each optionally with ``"radius"``. Each error names the hint (from 0) and says why. Whether
    a point lies inside the photo is checked by ``to_grid``, which knows its size."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise HintError(f"hints is not valid JSON ({exc}); send a list such as "
                            '[{"x": 120, "y": 45, "color": "#c0392b"}]') from None
    if not isinstance(value, list):
        raise HintError(f"hints must be a JSON list of {{\"x\", \"y\", \"color\"}} objects, got {_a(_json_type(value))}")
    if len(value) > MAX_HINTS:
        raise HintError(f"{len(value)} hints is more than the limit of {MAX_HINTS}; send at most {MAX_HINTS}")
    hints = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise HintError(f"hint {i}: must be an object like {{\"x\": 120, \"y\": 45, \"color\": \"#c0392b\"}}, "
                            f"got {_a(_json_type(item))}")
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise HintError(f"hint {i}: unknown key {unknown[0]!r}; a hint has x, y, color and optionally radius")
        missing = [k for k in ("x", "y", "color") if k not in item]
        if missing:
            raise HintError(f"hint {i}: missing {missing[0]!r}; a hint has x, y (photo pixels) and color (#rrggbb)")
        x, y = _number(item, "x", i), _number(item, "y", i)
        rgb = parse_color(item["color"], f"hint {i}: color")
        radius = _number(item, "radius", i) if "radius" in item else 0.0
        if not 0 <= radius <= MAX_RADIUS:
            raise HintError(f"hint {i}: radius {radius:g} must be between 0 and {MAX_RADIUS} photo pixels")
        hints.append(Hint(x, y, rgb, radius))
    return hints


def parse_cli(text: str) -> Hint:
    """``X,Y,#RRGGBB`` or ``X,Y,#RRGGBB,RADIUS`` (the CLI's ``--hint``) -> a Hint."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise HintError(f"--hint {text!r} must be X,Y,#RRGGBB or X,Y,#RRGGBB,RADIUS (photo pixels), e.g. 120,45,#c0392b")
    item = {"x": parts[0], "y": parts[1], "color": parts[2]}
    if len(parts) == 4:
        item["radius"] = parts[3]
    for key in ("x", "y", "radius"):
        if key in item:
            try:
                item[key] = float(item[key])
            except ValueError:
                raise HintError(f"--hint {text!r}: {key} {item[key]!r} is not a number") from None
    try:
        return parse([item])[0]
    except HintError as exc:
        raise HintError(f"--hint {text!r}: {str(exc).removeprefix('hint 0: ')}") from None


def to_grid(hints: list[Hint], photo_size: tuple[int, int], l_small: np.ndarray) -> np.ndarray:
    """The hint map (HINT_CHANNELS, S, S) float32 on the network's S x S grid, for hints in the coordinates of
    a photo of ``photo_size`` (width, height) whose L* on that grid is ``l_small`` (S, S). A point outside
    the photo is a HintError naming it. Later hints overwrite earlier ones where they overlap."""
    width, height = photo_size
    s_h, s_w = l_small.shape
    out = np.zeros((HINT_CHANNELS, s_h, s_w), np.float32)
    if not hints:
        return out
    for i, h in enumerate(hints):
        if not (0 <= h.x <= width - 1 and 0 <= h.y <= height - 1):
            raise HintError(f"hint {i}: ({h.x:g}, {h.y:g}) is outside the photo; x must be in 0..{width - 1} and "
                            f"y in 0..{height - 1} (pixels of the uploaded photo)")
    boxes = []
    for h in hints:
        cx = min(s_w - 1, int((h.x + 0.5) * s_w / width))
        cy = min(s_h - 1, int((h.y + 0.5) * s_h / height))
        rx, ry = round(h.radius * s_w / width), round(h.radius * s_h / height)
        boxes.append((max(0, cy - ry), min(s_h, cy + ry + 1), max(0, cx - rx), min(s_w, cx + rx + 1)))
    lightness = np.array([float(l_small[y0:y1, x0:x1].mean()) for y0, y1, x0, x1 in boxes], np.float32)
    ab = ab_at_lightness(np.array([h.rgb for h in hints], np.float32) / 255.0, lightness)
    for (y0, y1, x0, x1), (a, b) in zip(boxes, ab):
        out[0, y0:y1, x0:x1] = color.normalize_ab(a)
        out[1, y0:y1, x0:x1] = color.normalize_ab(b)
        out[2, y0:y1, x0:x1] = 1.0
    return out


def ab_at_lightness(rgb: np.ndarray, lightness: np.ndarray, steps: int = 24) -> np.ndarray:
    """(N, 3) sRGB colours in [0, 1] and (N,) L* -> (N, 2) a*b*: each colour's hue and chroma, with the
    chroma scaled down (bisection, ``steps`` halvings) until that L* shows it inside the sRGB gamut."""
    ab = color.rgb_to_lab(np.asarray(rgb, np.float64), axis=-1)[:, 1:]
    return fit_chroma(lightness, ab, steps).astype(np.float32)


def fit_chroma(lightness: np.ndarray, ab: np.ndarray, steps: int = 24) -> np.ndarray:
    """(N,) L* and (N, 2) a*b* -> (N, 2) a*b* of the same hue, the chroma scaled down (bisection, ``steps``
    halvings) until that L* shows it inside the sRGB gamut; a colour inside is kept as it is."""
    ab = np.asarray(ab, np.float64)
    lightness = np.asarray(lightness, np.float64)
    lo = np.where(_in_gamut(lightness, ab), 1.0, 0.0)  # the largest share of the chroma known to fit
    hi = np.ones(len(ab))
    for _ in range(steps):
        mid = (lo + hi) / 2
        ok = _in_gamut(lightness, ab * mid[:, None])
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return ab * lo[:, None]


def _in_gamut(lightness: np.ndarray, ab: np.ndarray, tolerance: float = 1e-4) -> np.ndarray:
    """Whether each (L*, a*, b*) is an sRGB colour (unclipped linear RGB within [0, 1])."""
    ops = color._Ops(ab)
    x, y, z = color._lab_to_xyz(lightness, ab[:, 0], ab[:, 1], ops)
    linear = np.stack(color._mix(color._RGB_FROM_XYZ, x, y, z), axis=-1)
    return ((linear >= -tolerance) & (linear <= 1 + tolerance)).all(axis=-1)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _json_type(value) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


__all__ = ["HINT_CHANNELS", "MAX_HINTS", "Hint", "HintError", "ab_at_lightness", "fit_chroma", "parse", "parse_cli", "parse_color",
           "to_grid"]
