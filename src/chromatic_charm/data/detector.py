"""How well `prepare`'s near-grayscale and sepia filter agrees with a photo set's own labels, and whether
it catches toned prints.

A labelled folder has a ``CREDITS.csv`` with columns ``file`` and ``colour`` (``no`` for a photo that is
near-grayscale or toned, ``yes`` for a colour photo), as the team's photo set (Data/Raw Data/photos)
has. ``measure`` runs prepare's own verdict on every labelled photo (precision and recall of "set
aside" against ``colour == no``), and on toned prints made from the colour photos' lightness (sepia,
cyanotype, selenium and gold toning at three strengths): a toned print is what the sepia rule is for,
and the labelled set holds none.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..color import lab_to_rgb, rgb_to_lab
from .prepare import Checks, PrepareConfig, colour_verdict

# (a*, b*) direction of each toner's tint, and the peak chroma of the three strengths
TONES = {"sepia": (0.25, 1.0), "cyanotype": (-0.35, -1.0), "selenium": (0.6, -0.15), "gold": (0.05, 1.0)}
STRENGTHS = (8, 16, 26)


def photo_lab(rgb: Image.Image) -> np.ndarray:
    """``rgb``'s CIE Lab (float64), as ``toned`` reads it."""
    return rgb_to_lab(np.asarray(rgb, dtype=np.float64) / 255.0, axis=-1)


def toned(rgb: Image.Image, tone: str, strength: float, lab: np.ndarray | None = None) -> Image.Image:
    """A toned print of ``rgb``: its lightness kept, one hue (``TONES[tone]``) everywhere, strongest in the
    midtones as a toner acts (peak chroma ``strength``), quantised to 8 bits. ``lab``: ``photo_lab(rgb)``
    when the caller has it (one photo toned twelve ways converts once; left unchanged)."""
    lab = photo_lab(rgb) if lab is None else lab.copy()
    direction = np.array(TONES[tone]) / np.linalg.norm(TONES[tone])
    weight = np.sin(np.pi * np.clip(lab[..., 0] / 100.0, 0, 1)) * strength
    lab[..., 1], lab[..., 2] = weight * direction[0], weight * direction[1]
    out = np.clip(lab_to_rgb(lab, axis=-1), 0, 1)
    return Image.fromarray(np.round(out * 255).astype(np.uint8))


def _load(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def measure(folder: str | Path, checks: Checks | None = None, toned_every: int = 4) -> dict:
    """Precision and recall of the filter on ``folder``'s labels, what it got wrong, and its recall on toned
    prints made from every ``toned_every``-th colour photo."""
    folder = Path(folder)
    checks = checks or PrepareConfig().checks()
    with open(folder / "CREDITS.csv", newline="") as f:
        labels = {row["file"]: row["colour"] == "no" for row in csv.DictReader(f)}
    verdicts, stats = {}, {}
    for name in sorted(labels):
        reason, _, stats[name] = colour_verdict(_load(folder / name), checks)
        verdicts[name] = reason
    flagged = {n for n, r in verdicts.items() if r}
    marked = {n for n, gray in labels.items() if gray}
    colour = sorted(n for n, gray in labels.items() if not gray)
    tp = len(flagged & marked)
    toned_found, toned_total, toned_missed = 0, 0, []
    for name in colour[::toned_every]:
        rgb = _load(folder / name)
        lab = photo_lab(rgb)
        for tone in TONES:
            for strength in STRENGTHS:
                reason, _, s = colour_verdict(toned(rgb, tone, strength, lab), checks)
                toned_total += 1
                toned_found += reason is not None
                if reason is None:
                    toned_missed.append({"file": name, "tone": tone, "strength": strength,
                                         "hue_spread": round(s["hue_spread"], 2), "chroma_mean": round(s["chroma_mean"], 2)})
    return {
        "photos": len(labels), "marked": len(marked), "colour": len(colour), "flagged": len(flagged),
        "precision": tp / len(flagged) if flagged else float("nan"),
        "recall": tp / len(marked) if marked else float("nan"),
        "by_reason": {r: sum(v == r for v in verdicts.values()) for r in ("grayscale", "sepia")},
        "colour_set_aside": sorted((n, verdicts[n]) for n in flagged - marked),
        "marked_kept": sorted(marked - flagged),
        "toned_prints": toned_total, "toned_recall": toned_found / toned_total if toned_total else float("nan"),
        "toned_missed": toned_missed,
        "stats": stats, "verdicts": verdicts, "labels": labels,
    }
