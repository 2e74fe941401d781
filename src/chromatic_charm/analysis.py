"""Tables and figures for the notebooks and the report: the clean data (EDA) and the tracked runs.

Everything here reads what the pipeline wrote (``Data/Clean Data``, ``metrics/``, the MLflow store),
so a notebook shows the numbers of a real run and never types them. Plotting needs matplotlib and
the tables pandas (the ``notebook`` extra); both are imported inside the functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import color
from .config import SPLITS, clean_data_dir
from .errors import UserError


@dataclass
class CleanData:
    root: Path
    manifest: dict
    report: dict
    index: object  # pandas.DataFrame of index.csv: split, row, source, width, height, mode, chroma...
    arrays: dict  # split -> (N, S, S, 3) uint8 memory map


def load_clean(root: str | Path | None = None) -> CleanData:
    """The prepared data as written by ``chromatic-charm prepare``."""
    import pandas as pd

    root = Path(root) if root else clean_data_dir()
    needed = [root / name for name in ("manifest.json", "report.json", "index.csv", *(f"{s}.npy" for s in SPLITS))]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        raise UserError(f"'{root}' lacks {', '.join(missing)}: run `chromatic-charm prepare` (or `dvc repro prepare`)")
    return CleanData(root, json.loads((root / "manifest.json").read_text()), json.loads((root / "report.json").read_text()),
                     pd.read_csv(root / "index.csv"), {s: np.load(root / f"{s}.npy", mmap_mode="r") for s in SPLITS})


def _pick(n_total: int, n: int, seed: int = 0) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n_total, size=min(n, n_total), replace=False))


def image_grid(images, titles=None, cols: int = 8, size: float = 1.6, suptitle: str | None = None):
    """A matplotlib figure of (N, H, W, 3) uint8 or float images (or (N, H, W) gray)."""
    import matplotlib.pyplot as plt

    n = len(images)
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray" if np.ndim(images[i]) == 2 else None, vmin=0, vmax=255 if
                      np.asarray(images[i]).dtype == np.uint8 else 1)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def split_samples(data: CleanData, split: str, n: int = 16, seed: int = 0):
    """(images, source file names) of ``n`` random images of a split."""
    rows = _pick(len(data.arrays[split]), n, seed)
    names = data.index[data.index["split"] == split].set_index("row").loc[rows, "source"].tolist()
    return np.asarray(data.arrays[split][rows]), names


def sizes_and_modes(data: CleanData):
    """(size summary, mode counts) of the original files that were kept, from index.csv."""
    sizes = data.index[["width", "height"]].describe().loc[["count", "min", "50%", "mean", "max"]]
    modes = data.index.groupby(["mode"]).size().rename("images").to_frame()
    return sizes, modes


def _sample_rows(data: CleanData, max_images: int, seed: int = 0) -> dict:
    return {s: _pick(len(data.arrays[s]), max_images, seed) for s in SPLITS if len(data.arrays[s])}


def channel_stats(data: CleanData, max_images: int = 2000, seed: int = 0):
    """Per split and channel (R, G, B in 0-255; L in 0-100; a*, b* in about -110..110): min, max,
    mean, std over up to ``max_images`` images per split."""
    import pandas as pd

    rows = []
    for split, picked in _sample_rows(data, max_images, seed).items():
        rgb = np.asarray(data.arrays[split][picked])
        lab = color.rgb_to_lab(rgb.astype(np.float32) / 255.0)
        for name, values in zip(("R", "G", "B", "L*", "a*", "b*"), [*np.moveaxis(rgb, -1, 0), *np.moveaxis(lab, -1, 0)]):
            v = values.astype(np.float64)
            rows.append({"split": split, "channel": name, "min": v.min(), "max": v.max(), "mean": v.mean(), "std": v.std()})
    return pd.DataFrame(rows).set_index(["split", "channel"]).round(2)


def ab_histogram(data: CleanData, split: str = "train", bins: int = 88, max_images: int = 2000, seed: int = 0):
    """2-D histogram of a*b* over the pixels of up to ``max_images`` images: (counts, a_edges, b_edges)."""
    picked = _pick(len(data.arrays[split]), max_images, seed)
    edges = np.linspace(-110, 110, bins + 1)
    counts = np.zeros((bins, bins))
    for start in range(0, len(picked), 256):
        rgb = np.asarray(data.arrays[split][picked[start:start + 256]]).astype(np.float32) / 255.0
        lab = color.rgb_to_lab(rgb)
        counts += np.histogram2d(lab[..., 1].ravel(), lab[..., 2].ravel(), bins=(edges, edges))[0]
    return counts, edges, edges


def plot_ab_histogram(counts, a_edges, b_edges, title: str = "a*b* distribution (log density)",
                      labels=("a* (green - red)", "b* (blue - yellow)", "pixels + 1"), ax=None):
    """The 2-D histogram of ``ab_histogram`` (on ``ax``, or a new figure); ``labels`` are the x, y and
    colour-bar labels (a notebook in another language passes its own)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.5))
    fig = ax.figure
    mesh = ax.pcolormesh(a_edges, b_edges, counts.T + 1, norm=LogNorm(), cmap="magma")
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title, aspect="equal")
    ax.axhline(0, color="w", lw=0.5)
    ax.axvline(0, color="w", lw=0.5)
    fig.colorbar(mesh, ax=ax, label=labels[2])
    fig.tight_layout()
    return fig


def rejections(data: CleanData):
    """What prepare set aside, one row per file: reason, file, detail (and the original of a duplicate)."""
    import pandas as pd

    rows = [{"reason": reason, **item} for reason, items in data.report.get("rejected", {}).items() for item in items]
    return pd.DataFrame(rows, columns=["reason", "file", "detail", "duplicate_of", "distance"])


def raw_thumbnails(data: CleanData, files: list[str], size: int = 128) -> list[np.ndarray]:
    """Thumbnails of files of the raw source (for the rejected ones, which are not in the arrays).
    Raises a UserError when the source folder is not on this machine (data prepared elsewhere)."""
    from PIL import Image, ImageOps

    root = Path(data.report["root"])
    if not root.is_absolute():
        from .config import project_root

        root = project_root() / root
    if not root.is_dir():
        raise UserError(f"the raw photos ('{root}') are not on this machine; the list above names the files")
    out = []
    for name in files:
        try:
            with Image.open(root / name) as im:
                out.append(np.asarray(ImageOps.exif_transpose(im).convert("RGB").resize((size, size))))
        except (OSError, ValueError):  # unreadable files are among the rejected: show a gray square
            out.append(np.full((size, size, 3), 128, np.uint8))
    return out


def source_group(name: str) -> str:
    """The group a source file belongs to: the prefix before ``__`` of the shared photos' names
    (their Debian package, e.g. ``gcompris__kitchen.jpg`` -> ``gcompris``), else its first folder
    (Places365's ``train_samples``), else ``"-"``."""
    base = Path(name).name
    if "__" in base:
        return base.split("__")[0]
    parts = Path(name).parts
    return parts[0] if len(parts) > 1 else "-"


def composition(data: CleanData, rejected=None):
    """Images per source group (``source_group``) and split, with the total and, when the rejections
    (``rejections(data)``) are given, how many of the group ``prepare`` set aside: DataFrame."""
    groups = data.index.assign(group=data.index["source"].map(source_group))
    table = groups.pivot_table(index="group", columns="split", values="row", aggfunc="count", fill_value=0)
    table = table.reindex(columns=[s for s in SPLITS if s in table.columns]).astype(int)
    table["total"] = table.sum(axis=1)
    if rejected is not None:
        dropped = rejected.assign(group=rejected["file"].map(source_group)).groupby("group").size()
        table = table.reindex(table.index.union(dropped.index), fill_value=0)
        table["rejected"] = dropped.reindex(table.index, fill_value=0).astype(int)
    return table.sort_values("total", ascending=False)


def image_stats(data: CleanData, max_images: int = 5000, seed: int = 0):
    """Per image (up to ``max_images`` per split): brightness (mean L*), contrast (std of L*), mean a*
    and b*, mean chroma and Hasler-Suesstrunk colourfulness. DataFrame with ``split`` and ``row``."""
    import pandas as pd
    import torch

    from .metrics import colourfulness

    rows = []
    for split, picked in _sample_rows(data, max_images, seed).items():
        for start in range(0, len(picked), 64):
            chunk = picked[start:start + 64]
            rgb = np.asarray(data.arrays[split][chunk]).astype(np.float32) / 255.0
            colourful = colourfulness(torch.from_numpy(rgb).permute(0, 3, 1, 2)).numpy()
            flat = color.rgb_to_lab(rgb).astype(np.float64).reshape(len(chunk), -1, 3)
            rows.append(pd.DataFrame({
                "split": split, "row": chunk, "brightness": flat[..., 0].mean(1), "contrast": flat[..., 0].std(1),
                "a_mean": flat[..., 1].mean(1), "b_mean": flat[..., 2].mean(1),
                "chroma": np.hypot(flat[..., 1], flat[..., 2]).mean(1), "colourfulness": colourful}))
    return pd.concat(rows, ignore_index=True)


def hue_histogram(data: CleanData, split: str = "train", bins: int = 36, min_chroma: float = 10.0,
                  max_images: int = 2000, seed: int = 0):
    """Where the colour is: the CIE LCh hue angle (0-360 degrees; about 40 red, 90 yellow, 140 green,
    200 cyan, 280 blue, 330 magenta) of the pixels whose chroma is at least ``min_chroma``, weighted by
    count. Returns (counts, edges in degrees, share of all pixels that are that chromatic)."""
    picked = _pick(len(data.arrays[split]), max_images, seed)
    edges = np.linspace(0.0, 360.0, bins + 1)
    counts = np.zeros(bins)
    total = chromatic = 0
    for start in range(0, len(picked), 256):
        rgb = np.asarray(data.arrays[split][picked[start:start + 256]]).astype(np.float32) / 255.0
        lab = color.rgb_to_lab(rgb)
        a, b = lab[..., 1].ravel(), lab[..., 2].ravel()
        keep = np.hypot(a, b) >= min_chroma
        counts += np.histogram(np.degrees(np.arctan2(b[keep], a[keep])) % 360.0, bins=edges)[0]
        total += a.size
        chromatic += int(keep.sum())
    return counts, edges, (chromatic / total if total else 0.0)


def hue_colours(edges: np.ndarray, lightness: float = 65.0, chroma: float = 45.0) -> np.ndarray:
    """The sRGB colour (0-1) of each hue bin's centre at a fixed L* and chroma, for plotting."""
    centres = np.radians((edges[:-1] + edges[1:]) / 2)
    lab = np.stack([np.full_like(centres, lightness), chroma * np.cos(centres), chroma * np.sin(centres)], -1)
    return np.clip(color.lab_to_rgb(lab.astype(np.float32)), 0, 1)


def plot_hue_histogram(counts: np.ndarray, edges: np.ndarray, title: str = "hue of the chromatic pixels", ax=None):
    """``hue_histogram`` as a polar bar chart, each bar in its own hue (on a polar ``ax``, or a new one)."""
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.figure(figsize=(4.5, 4.5)).add_subplot(projection="polar")
    ax.bar(np.radians(edges[:-1]), counts / max(counts.sum(), 1), width=np.radians(np.diff(edges)), align="edge",
           color=hue_colours(edges), edgecolor="k", linewidth=0.3)
    ax.set_title(title, fontsize=10)
    ax.set_yticklabels([])
    return ax.figure


# Families of CIE LCh hue angles in degrees, [from, to); magenta wraps past 360 to 10.
HUE_FAMILIES = {"red and orange": (10, 70), "yellow": (70, 110), "green": (110, 190), "cyan": (190, 240),
                "blue": (240, 300), "magenta and purple": (300, 370)}


def hue_shares(counts: np.ndarray, edges: np.ndarray, families: dict = HUE_FAMILIES) -> dict:
    """The share of ``hue_histogram``'s pixels in each named family of hue angles, ``{name: (from,
    to)}`` in degrees; a range may pass 360 (``(300, 370)`` is 300-360 and 0-10)."""
    centres = (edges[:-1] + edges[1:]) / 2
    total = max(counts.sum(), 1)
    return {name: float(counts[((centres >= lo) & (centres < hi)) | ((centres + 360 >= lo) & (centres + 360 < hi))].sum()
                        / total) for name, (lo, hi) in families.items()}


def crop_loss(data: CleanData):
    """What the centre-square crop of ``prepare`` discards from each kept original: its aspect ratio
    (width / height) and the share of its area outside the square. DataFrame with ``split``."""
    w, h = data.index["width"].astype(float), data.index["height"].astype(float)
    return data.index[["split", "source"]].assign(aspect=w / h, discarded=1.0 - np.minimum(w, h) / np.maximum(w, h))


def split_similarity(stats, features=("brightness", "contrast", "a_mean", "b_mean", "colourfulness"),
                     reference: str = "train"):
    """Do the splits come from the same distribution? A two-sample Kolmogorov-Smirnov test of each
    feature of ``image_stats`` between ``reference`` and every other split: statistic D and p-value
    (a small p, say below 0.05, says they differ; with few images the test has little power)."""
    import pandas as pd
    from scipy.stats import ks_2samp

    ref = stats[stats["split"] == reference]
    rows = []
    for split in [s for s in SPLITS if s != reference and (stats["split"] == s).any()]:
        other = stats[stats["split"] == split]
        for feature in features:
            test = ks_2samp(ref[feature], other[feature])
            rows.append({"split": split, "feature": feature, "n_reference": len(ref), "n": len(other),
                         "ks_statistic": float(test.statistic), "p_value": float(test.pvalue)})
    return pd.DataFrame(rows)
