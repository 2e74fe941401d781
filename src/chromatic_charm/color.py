"""CIE L*a*b* conversion and the network's normalisation, defined once.

The same functions take NumPy arrays (serving, data preparation) or torch tensors (training,
evaluation, on any device), so every caller uses one set of formulas and constants. Importing this
module never imports torch.

Conventions
-----------
- RGB: sRGB, float in [0, 1], D65 white, the channel axis given by ``axis`` (-1 for HxWx3 images,
  1 for (B, 3, H, W) batches).
- Lab: L in [0, 100], a and b roughly in [-110, 110] (the sRGB gamut spans about [-86, 98] for a
  and [-108, 95] for b).
- Network space: ``L_norm = L / 50 - 1`` in [-1, 1]; ``ab_norm = ab / 110`` in about [-1, 1].

The constants are those of scikit-image's ``rgb2lab`` (sRGB primaries, D65, 2 degree observer), so
the two agree to float precision (tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np

L_SCALE = 50.0
L_OFFSET = 1.0
AB_SCALE = 110.0

# sRGB (D65) -> XYZ, as in scikit-image.
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_RGB_FROM_XYZ = tuple(map(tuple, np.linalg.inv(np.array(_XYZ_FROM_RGB)).tolist()))
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_EPS = 0.008856  # (6/29)^3
_KAPPA = 7.787  # (29/6)^2 / 3


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


class _Ops:
    """The handful of array operations the formulas need, for NumPy or torch."""

    def __init__(self, x: Any):
        if _is_torch(x):
            import torch

            self.where = torch.where
            self.stack = lambda xs, axis: torch.stack(xs, dim=axis)
            self.maximum = lambda x, v: x.clamp_min(v)
            self.clip = lambda x, lo, hi: x.clamp(lo, hi)
        else:
            self.where = np.where
            self.stack = lambda xs, axis: np.stack(xs, axis=axis)
            self.maximum = np.maximum
            self.clip = np.clip


def _split(x: Any, axis: int, n: int = 3, what: str = "RGB or Lab"):
    if x.shape[axis] != n:
        raise ValueError(f"expected {n} channels ({what}) on axis {axis}, got shape {tuple(x.shape)}")
    index = [slice(None)] * x.ndim
    out = []
    for c in range(n):
        index[axis] = c
        out.append(x[tuple(index)])
    return out


def _mix(matrix, c0, c1, c2):
    return [m[0] * c0 + m[1] * c1 + m[2] * c2 for m in matrix]


def _float(x: Any) -> Any:
    if _is_torch(x):
        return x if x.is_floating_point() else x.float()
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def _decode_srgb(rgb: Any, ops: _Ops) -> Any:
    """sRGB in [0, 1] -> linear light (the sRGB transfer curve, inverted)."""
    return ops.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def _encode_srgb(linear: Any, ops: _Ops) -> Any:
    """Linear light >= 0 -> sRGB (not clipped)."""
    return ops.where(linear > 0.0031308, 1.055 * ops.maximum(linear, 1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear)


def _lab_to_xyz(lightness: Any, a: Any, b: Any, ops: _Ops) -> list:
    fy = (lightness + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = ops.maximum(fy - b / 200.0, 0.0)
    xyz = []
    for f, white in zip((fx, fy, fz), _WHITE_D65):
        cube = f**3
        xyz.append(white * ops.where(cube > _EPS, cube, (f - 16.0 / 116.0) / _KAPPA))
    return xyz


def rgb_to_lab(rgb: Any, axis: int = -1) -> Any:
    """sRGB floats in [0, 1] -> Lab (L in [0, 100]); same shape, layout and array type as the input.

    Integer arrays (uint8 photos) are refused: read as floats they would all clip to white. Out-of-range
    floats (a rounding error's overshoot) are clipped to [0, 1]."""
    if not (rgb.is_floating_point() if _is_torch(rgb) else np.issubdtype(np.asarray(rgb).dtype, np.floating)):
        raise ValueError(f"rgb_to_lab takes floats in [0, 1], got {rgb.dtype} values; divide 8-bit "
                         "photos by 255 first (or use srgb8_to_lightness for their L*)")
    rgb = _float(rgb)
    ops = _Ops(rgb)
    rgb = ops.clip(rgb, 0.0, 1.0)
    linear = _decode_srgb(rgb, ops)
    x, y, z = _mix(_XYZ_FROM_RGB, *_split(linear, axis))
    f = []
    for value, white in zip((x, y, z), _WHITE_D65):
        t = value / white
        f.append(ops.where(t > _EPS, ops.maximum(t, _EPS) ** (1.0 / 3.0), _KAPPA * t + 16.0 / 116.0))
    fx, fy, fz = f
    lightness = ops.where(y > _EPS, 116.0 * fy - 16.0, 903.3 * y)
    return ops.stack([lightness, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis)


def lab_to_rgb(lab: Any, axis: int = -1) -> Any:
    """Lab -> sRGB clipped to [0, 1]; same shape, layout and array type as the input."""
    lab = _float(lab)
    ops = _Ops(lab)
    linear = _mix(_RGB_FROM_XYZ, *_lab_to_xyz(*_split(lab, axis), ops))
    return ops.clip(ops.stack([_encode_srgb(ops.maximum(c, 0.0), ops) for c in linear], axis), 0.0, 1.0)


def normalize_l(lightness: Any) -> Any:
    """L in [0, 100] -> [-1, 1]."""
    return lightness / L_SCALE - L_OFFSET


def denormalize_l(l_norm: Any) -> Any:
    """[-1, 1] -> L in [0, 100]."""
    return (l_norm + L_OFFSET) * L_SCALE


def normalize_ab(ab: Any) -> Any:
    """a*b* in Lab units -> about [-1, 1]."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm: Any) -> Any:
    """Network ab in [-1, 1] -> a*b* in Lab units."""
    return ab_norm * AB_SCALE


def rgb_to_model_input(rgb: Any, axis: int = -1) -> tuple[Any, Any]:
    """sRGB in [0, 1] -> (L_norm, ab_norm), each keeping ``axis`` (1 and 2 channels)."""
    lab = rgb_to_lab(rgb, axis=axis)
    lightness, a, b = _split(lab, axis)
    ops = _Ops(lab)
    return normalize_l(ops.stack([lightness], axis)), normalize_ab(ops.stack([a, b], axis))


def model_output_to_rgb(l_norm: Any, ab_norm: Any, axis: int = -1) -> Any:
    """(L_norm with 1 channel, ab_norm with 2 channels) -> sRGB in [0, 1] along ``axis``."""
    ops = _Ops(l_norm)
    (lightness,) = _split(denormalize_l(l_norm), axis, 1, "L")
    a, b = _split(denormalize_ab(ab_norm), axis, 2, "ab")
    return lab_to_rgb(ops.stack([lightness, a, b], axis), axis=axis)


def lightness_to_gray(l_norm: Any) -> Any:
    """L_norm in [-1, 1] -> the sRGB value in [0, 1] of the neutral gray of that lightness (same shape).

    What a photo's grayscale version looks like to a network trained on RGB photos (an ImageNet encoder)."""
    l_norm = _float(l_norm)
    ops = _Ops(l_norm)
    fy = (denormalize_l(l_norm) + 16.0) / 116.0
    cube = fy**3
    luminance = ops.where(cube > _EPS, cube, (fy - 16.0 / 116.0) / _KAPPA)  # Y of D65 white is 1
    return ops.clip(_encode_srgb(ops.maximum(luminance, 0.0), ops), 0.0, 1.0)


def chroma_stats(rgb: Any) -> dict[str, float]:
    """Colour statistics of one HxWx3 sRGB image in [0, 1], used to find near-grayscale and sepia.

    ``chroma_mean``: mean of sqrt(a^2 + b^2) (near 0 for grayscale).
    ``chroma_spread``: RMS distance of the pixels' (a, b) from their mean.
    ``hue_spread``: how far the hues stray from one, in degrees: the circular standard deviation of the
    pixels' hue angles weighted by their chroma, sqrt(-2 ln R), R = |sum (a, b)| / sum chroma (0 for one
    hue everywhere, as in a toned print; 180 for no colour at all).
    """
    lab = rgb_to_lab(np.asarray(rgb), axis=-1).reshape(-1, 3)
    ab = lab[:, 1:].astype(np.float64)
    chroma = np.sqrt((ab**2).sum(axis=1))
    spread = np.sqrt(((ab - ab.mean(axis=0)) ** 2).sum(axis=1).mean())
    resultant = float(np.linalg.norm(ab.sum(axis=0)) / chroma.sum()) if chroma.sum() > 0 else 0.0
    hue_spread = 180.0 if resultant <= 0 else float(np.degrees(np.sqrt(-2.0 * np.log(min(resultant, 1.0)))))
    return {"chroma_mean": float(chroma.mean()), "chroma_spread": float(spread), "hue_spread": min(hue_spread, 180.0)}


# ---------------------------------------------------------------- 8-bit fast paths (serving)
# Full-resolution photos (12 MP and more) go through these two in the API: the same formulas and
# constants as above, computed in float32 with table look-ups for the sRGB transfer curve (exact
# at 8 bits on the way in, a 65,536-step table on the way out), and only what is needed (L alone
# on the way in). About 5x faster than the general functions on a 12 MP photo
# (benchmarks/api_benchmark.py); they agree with them to within one 8-bit level (tested).

_NP = _Ops(np.zeros(1))
# Y of each channel's 8-bit value: Y = lut_r[r] + lut_g[g] + lut_b[b]
_Y_FROM_SRGB8 = [(_XYZ_FROM_RGB[1][c] / _WHITE_D65[1] * _decode_srgb(np.arange(256) / 255.0, _NP)).astype(np.float32)
                 for c in range(3)]
_ENCODE_STEPS = 65535
_SRGB8_FROM_LINEAR = np.round(255.0 * np.clip(_encode_srgb(np.linspace(0.0, 1.0, _ENCODE_STEPS + 1), _NP), 0.0, 1.0)
                              ).astype(np.uint8)


def srgb8_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB (H, W, 3) -> L* (H, W) float32 in [0, 100], as ``rgb_to_lab(rgb / 255)[..., 0]``."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"expected uint8 (H, W, 3) sRGB, got {rgb.dtype} {tuple(rgb.shape)}")
    y = _Y_FROM_SRGB8[0][rgb[..., 0]]
    y += _Y_FROM_SRGB8[1][rgb[..., 1]]
    y += _Y_FROM_SRGB8[2][rgb[..., 2]]
    return np.where(y > _EPS, 116.0 * np.cbrt(y) - 16.0, 903.3 * y).astype(np.float32, copy=False)


def gray8_to_lightness(gray: np.ndarray) -> np.ndarray:
    """uint8 gray (H, W) -> L* (H, W) float32, exactly ``srgb8_to_lightness`` of the RGB photo (g, g, g)."""
    gray = np.asarray(gray)
    if gray.dtype != np.uint8 or gray.ndim != 2:
        raise ValueError(f"expected uint8 (H, W) gray, got {gray.dtype} {tuple(gray.shape)}")
    return _L_FROM_GRAY8[gray]


_L_FROM_GRAY8 = srgb8_to_lightness(np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=-1))[:, 0]


def lab_to_srgb8(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """L* (H, W) and a*b* (H, W, 2), in Lab units -> uint8 sRGB (H, W, 3), as
    ``round(255 * lab_to_rgb(stack([L, a, b])))`` to within one level."""
    ab = np.asarray(ab, np.float32)
    return lab_planes_to_srgb8(lightness, ab[..., 0], ab[..., 1])


def lab_planes_to_srgb8(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``lab_to_srgb8`` with a* and b* as two (H, W) planes, into ``out`` (uint8 (H, W, 3)) when given."""
    lightness = np.asarray(lightness, np.float32)
    # _lab_to_xyz's formulas, with f * f * f for f**3 (NumPy's float32 pow is 4x slower at 12 MP).
    fy = (lightness + np.float32(16.0)) / np.float32(116.0)
    fx = fy + np.asarray(a, np.float32) / np.float32(500.0)
    fz = np.maximum(fy - np.asarray(b, np.float32) / np.float32(200.0), np.float32(0.0))
    xyz = []
    for f, white in zip((fx, fy, fz), _WHITE_D65):
        cube = f * f * f
        xyz.append(np.float32(white) * np.where(cube > _EPS, cube, (f - np.float32(16.0 / 116.0)) / np.float32(_KAPPA)))
    if out is None:
        out = np.empty(lightness.shape + (3,), np.uint8)
    for c, row in enumerate(_RGB_FROM_XYZ):
        linear = np.float32(row[0]) * xyz[0]
        linear += np.float32(row[1]) * xyz[1]
        linear += np.float32(row[2]) * xyz[2]
        np.clip(linear, 0.0, 1.0, out=linear)
        linear *= np.float32(_ENCODE_STEPS)
        linear += np.float32(0.5)
        out[..., c] = _SRGB8_FROM_LINEAR[linear.astype(np.int32)]
    return out
