"""The views of a photo that evaluation scores, and the per-scale summary (torch-free: ``evaluate`` and
``benchmarks/quality_benchmark.py`` share them).

- **Corner views** (``corner_views``, ``crops`` of them): the whole photo, its four corner crops of
  ``EVAL_CROP_FRACTION`` of the side, then the same five mirrored. More samples for FID and KID from a
  small test set, all near the scale pix2pix's jitter trains at (about 90% of the side).
- **Scales** (``tiles``): scale k cuts the photo into k x k tiles of 1/k of each side, so every pixel is
  scored once at every scale. Scale 1 is the whole photo; scales 2 and 3 are close-ups, the crops and
  detail shots users upload, which the corner views never show (issue 33).

``scale_summary`` turns per-photo values at each scale into the metrics every run logs:
``<split>_<measure>_scale<k>`` and, for the mean of the scales, ``<split>_<measure>_scales_mean``, each with
the grayscale input's value (``_gray``) and the paired difference to it with its bootstrap interval over
photos (``_vs_gray``, ``_vs_gray_lo``, ``_vs_gray_hi``); colourfulness with the truth's (``_real``).
"""

from __future__ import annotations

import re

import numpy as np

from . import stats
from .config import EVAL_CROP_FRACTION, EVAL_SCALES

Box = tuple[int, int, int, int, bool]  # top, left, height, width, mirrored left to right

PAIRED = ("ciede2000", "psnr")  # compared with the grayscale input, photo by photo
PSNR_CAP = 100.0  # dB: an image equal to the truth (a gray tile, gray) has infinite PSNR


def corner_views(height: int, width: int, crops: int) -> list[Box]:
    """The boxes of the ``crops`` corner views of a (height, width) photo (see the module's docstring)."""
    ch, cw = max(1, round(height * EVAL_CROP_FRACTION)), max(1, round(width * EVAL_CROP_FRACTION))
    boxes = [(0, 0, height, width), (0, 0, ch, cw), (0, width - cw, ch, cw), (height - ch, 0, ch, cw),
             (height - ch, width - cw, ch, cw)]
    return [(*boxes[k % 5], k >= 5) for k in range(crops)]


def tiles(height: int, width: int, scale: int) -> list[Box]:
    """The scale x scale tiles of a (height, width) photo, row by row, edges rounded to whole pixels so that
    they cover it exactly; scale 1 is the whole photo."""
    if scale < 1:
        raise ValueError(f"a scale is a whole number >= 1, got {scale}")
    ys = [round(i * height / scale) for i in range(scale + 1)]
    xs = [round(i * width / scale) for i in range(scale + 1)]
    return [(ys[r], xs[c], ys[r + 1] - ys[r], xs[c + 1] - xs[c], False) for r in range(scale) for c in range(scale)]


def parse_scales(text: str) -> tuple[int, ...]:
    """'1,2,3' -> (1, 2, 3); a ValueError saying what is wrong otherwise."""
    try:
        scales = tuple(sorted({int(part) for part in str(text).split(",") if part.strip()}))
    except ValueError:
        raise ValueError(f"{text!r} is not a list of scales such as 1,2,3") from None
    if not scales or scales[0] < 1 or scales[-1] > 8:
        raise ValueError(f"{text!r}: a scale is 1 (the whole photo) to 8 (tiles of 1/8 of the side)")
    return scales


def scale_summary(split: str, model: dict[int, dict[str, np.ndarray]], gray: dict[int, dict[str, np.ndarray]],
                  real_colourfulness: dict[int, np.ndarray]) -> dict[str, float]:
    """Per-photo means at each scale -> the logged metrics (see the module's docstring).

    ``model[k]`` and ``gray[k]``: {"ciede2000", "psnr", "colourfulness"} -> (P,) each photo's mean over its
    tiles at scale k, for the model and for the grayscale input; ``real_colourfulness[k]``: (P,) the truth's.
    The mean of the scales is each photo's mean over the scales, so its interval resamples photos too."""
    out: dict[str, float] = {}
    for name, ks in _scale_groups(model):
        for measure in PAIRED:
            m, g = _mean_over(model, ks, measure), _mean_over(gray, ks, measure)
            out[f"{split}_{measure}_{name}"] = float(m.mean())
            out[f"{split}_{measure}_{name}_gray"] = float(g.mean())
            if len(m) >= 2:
                interval = stats.bootstrap_interval(m - g)
                out.update({f"{split}_{measure}_{name}_vs_gray": interval.value,
                            f"{split}_{measure}_{name}_vs_gray_lo": interval.low,
                            f"{split}_{measure}_{name}_vs_gray_hi": interval.high})
        out[f"{split}_colourfulness_{name}"] = float(_mean_over(model, ks, "colourfulness").mean())
        out[f"{split}_colourfulness_{name}_real"] = float(np.mean([real_colourfulness[k] for k in ks], axis=0).mean())
    return out


def paired_by_scale(model: dict[int, dict[str, np.ndarray]], reference: dict[int, dict[str, np.ndarray]],
                    measure: str = "ciede2000") -> dict[str, stats.Interval]:
    """Per-photo values of two colourisers at each scale (as ``scale_summary`` takes them) -> the paired
    difference model minus reference at each scale and for their mean, with its interval over photos."""
    return {name: stats.bootstrap_interval(_mean_over(model, ks, measure) - _mean_over(reference, ks, measure))
            for name, ks in _scale_groups(model)}


def _scale_groups(values: dict) -> list[tuple[str, list[int]]]:
    scales = sorted(values)
    return [(f"scale{k}", [k]) for k in scales] + ([("scales_mean", scales)] if len(scales) > 1 else [])


def _mean_over(values: dict, scales: list[int], measure: str) -> np.ndarray:
    """(P,) each photo's mean of ``measure`` over ``scales`` (PSNR capped at PSNR_CAP)."""
    per = [np.asarray(values[k][measure], np.float64) for k in scales]
    if measure == "psnr":
        per = [np.minimum(v, PSNR_CAP) for v in per]
    return np.mean(per, axis=0)


def verdict(metrics: dict, split: str, name: str, measure: str = "ciede2000") -> str | None:
    """'better', 'worse' or 'no difference' than the grayscale input beyond the spread at scale ``name``
    (scale2, scales_mean, ...), lower CIEDE2000 and higher PSNR being better; None if not measured."""
    low, high = (metrics.get(f"{split}_{measure}_{name}_vs_gray_{end}") for end in ("lo", "hi"))
    if low is None or high is None:
        return None
    better_low = measure != "psnr"
    if (high < 0) if better_low else (low > 0):
        return "better"
    if (low > 0) if better_low else (high < 0):
        return "worse"
    return "no difference"


SCALE_METRIC = re.compile(r"[a-z]+_[a-z0-9]+_(scale\d+|scales_mean)(_[a-z_]+)?")


def is_scale_metric(key: str) -> bool:
    """Whether ``key`` (``test_ciede2000_scale2_vs_gray_lo``, ...) is one of ``scale_summary``'s metrics."""
    return SCALE_METRIC.fullmatch(key) is not None


def scale_names(metrics: dict, split: str) -> list[str]:
    """The scales measured in ``metrics``, in order: ['scale1', 'scale2', 'scale3', 'scales_mean']."""
    found = {m[1] for key in metrics if (m := SCALE_METRIC.fullmatch(key)) and key.startswith(f"{split}_ciede2000_")}
    return sorted((n for n in found if n != "scales_mean"), key=lambda n: int(n[5:])) + \
        (["scales_mean"] if "scales_mean" in found else [])


def describe_scale(name: str) -> str:
    """'scale1' -> 'whole photo', 'scale3' -> 'tiles of 1/3', 'scales_mean' -> 'mean of the scales'."""
    if name == "scales_mean":
        return "mean of the scales"
    k = int(name.removeprefix("scale"))
    return "whole photo" if k == 1 else f"tiles of 1/{k} of the side"


def _difference(metrics: dict, key: str, digits: int) -> str:
    if f"{key}_vs_gray" not in metrics:
        return "n/a"
    value, low, high = (metrics[f"{key}_vs_gray{end}"] for end in ("", "_lo", "_hi"))
    return f"{value:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def scale_table(metrics: dict, split: str) -> str:
    """A Markdown table of ``scale_summary``'s metrics, a row a scale; '' when there are none."""
    names = scale_names(metrics, split)
    if not names:
        return ""
    lines = ["| view (scale) | CIEDE2000 | gray | model - gray, 95% interval | vs gray | PSNR (dB) | gray | "
             "model - gray, 95% interval | colourfulness (truth) |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for name in names:
        c, p, f = (f"{split}_{m}_{name}" for m in ("ciede2000", "psnr", "colourfulness"))
        lines.append(f"| {describe_scale(name)} ({name.removeprefix('scale').replace('s_mean', '1-3')}) | "
                     f"{metrics[c]:.2f} | {metrics[c + '_gray']:.2f} | {_difference(metrics, c, 2)} | "
                     f"{verdict(metrics, split, name) or 'n/a'} | {metrics[p]:.2f} | {metrics[p + '_gray']:.2f} | "
                     f"{_difference(metrics, p, 2)} | {metrics[f]:.1f} ({metrics[f + '_real']:.1f}) |")
    return "\n".join(lines)


__all__ = ["EVAL_SCALES", "Box", "corner_views", "tiles", "parse_scales", "scale_summary", "paired_by_scale", "verdict",
           "is_scale_metric",
           "scale_names", "describe_scale", "scale_table"]
