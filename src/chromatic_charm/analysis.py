"""Tables and figures for the notebooks and the report: the clean data (EDA) and the tracked runs.

Everything here reads what the pipeline wrote (``Data/Clean Data``, ``metrics/``, the MLflow store),
so a notebook shows the numbers of a real run and never types them. Plotting needs matplotlib and
the tables pandas (the ``notebook`` extra); both are imported inside the functions.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import color
from .config import SPLITS, clean_data_dir
from .errors import UserError
from .scenes import SCENE_FAMILIES, scene_classes, scene_family  # noqa: F401  (the notebooks call them here)
from .defects import (DEFECT_SOURCES, DEFECTS, defect_fidelity, defect_verdicts,  # noqa: F401  (the EDA's demo)
                      plant_defects)
from .splits import (cross_split_neighbours, group_audit, group_settings, perceptual_hashes, series_across_splits,  # noqa: F401
                     series_name, split_similarity)


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


def wrap_name(name: str, width: int = 20) -> str:
    """A file name on lines of at most ``width`` characters, for a title under a thumbnail: broken after
    ``__``, ``-``, ``_``, ``/`` or a space where it can be, mid-word only where a part is longer than a line.
    Nothing is dropped: without its line breaks it is ``name`` again."""
    lines, line = [], ""
    for part in re.findall(r"[^-_/ ]*(?:__|[-_/ ]|$)", name):
        while len(line) + len(part) > width and (line or len(part) > width):
            if line:
                lines.append(line)
                line = ""
            else:
                lines.append(part[:width])
                part = part[width:]
        line += part
    return "\n".join([*lines, line] if line or not lines else lines)


def image_grid(images, titles=None, cols: int = 8, size: float = 1.6, suptitle: str | None = None,
               wrap: int | None = None):
    """A matplotlib figure of (N, H, W, 3) uint8 or float images (or (N, H, W) gray); in a list, a None
    leaves its cell empty (to start a new row, say). ``wrap``: put each title on lines of at most that
    many characters (``wrap_name``) so a full file name fits under its thumbnail, each row taller by the
    lines it needs; None keeps the titles as given. A line never gets wider than its thumbnail: ``wrap``
    is capped at the characters that fit in ``size`` inches at the titles' 10 pt, so neighbouring titles
    do not run into each other, and the suptitle gets a band of its own above the titles."""
    import matplotlib.pyplot as plt

    n = len(images)
    rows = max(1, -(-n // cols))
    height = size
    lines = 1
    if titles is not None and wrap:
        wrap = max(8, min(wrap, _chars_that_fit(size)))
        titles = ["\n".join(wrap_name(line, wrap) for line in str(t or "").split("\n")) for t in titles]
        lines = max((t.count("\n") + 1 for t in titles), default=1)
    elif titles is not None:
        lines = max((str(t or "").count("\n") + 1 for t in titles), default=1)
    if titles is not None:
        height += 0.2 * lines + 0.1  # 10 pt lines (0.17 in) and a gap to the row above
    # constrained layout: it makes room for each title (and the suptitle) before placing the images, so a
    # long title never runs into the row above or into its neighbour's
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * height + (0.35 if suptitle else 0.0)),
                             squeeze=False, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.04, h_pad=0.06, wspace=0.02, hspace=0.02)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n and images[i] is not None:
            ax.imshow(images[i], cmap="gray" if np.ndim(images[i]) == 2 else None, vmin=0, vmax=255 if
                      np.asarray(images[i]).dtype == np.uint8 else 1)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=10)  # legible at a page's width
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _chars_that_fit(width: float, fontsize: float = 10.0) -> int:
    """About how many characters of a file name fit on one line ``width`` inches wide at ``fontsize`` pt
    (DejaVu Sans: about 0.6 em a character, with a margin so that neighbours keep a gap)."""
    return int(width * 72 / (0.62 * fontsize))


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


def chroma_shares(data: CleanData, split: str = "train", limits=(5, 10, 20, 40), max_images: int = 2000,
                  seed: int = 0) -> dict:
    """The share of the pixels whose a*b* chroma is below each of ``limits``, over the same images as
    ``ab_histogram`` and ``hue_histogram`` pick, pixel by pixel: {limit: share in [0, 1]}. (A share read
    off the histogram's bins is off by the bin width; this one adds up with ``hue_histogram``'s.)"""
    picked = _pick(len(data.arrays[split]), max_images, seed)
    below = dict.fromkeys(limits, 0)
    total = 0
    for start in range(0, len(picked), 256):
        rgb = np.asarray(data.arrays[split][picked[start:start + 256]]).astype(np.float32) / 255.0
        lab = color.rgb_to_lab(rgb)
        chroma = np.hypot(lab[..., 1], lab[..., 2]).ravel()
        total += chroma.size
        for limit in limits:
            below[limit] += int((chroma < limit).sum())
    return {limit: (n / total if total else 0.0) for limit, n in below.items()}


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
    fig.colorbar(mesh, ax=ax, label=labels[2], pad=0.02, fraction=0.046)
    fig.tight_layout()
    return fig


def rejections(data: CleanData):
    """What prepare set aside, one row per file: reason, file, detail (and the original of a duplicate)."""
    import pandas as pd

    rows = [{"reason": reason, **item} for reason, items in data.report.get("rejected", {}).items() for item in items]
    return pd.DataFrame(rows, columns=["reason", "file", "detail", "duplicate_of", "distance"])


def raw_root(data: CleanData) -> Path:
    """The folder of raw photos ``prepare`` read (``report.json``'s ``root``, relative to the project)."""
    root = Path(data.report["root"])
    if not root.is_absolute():
        from .config import project_root

        root = project_root() / root
    return root


def raw_thumbnails(data: CleanData, files: list[str], size: int = 128) -> list[np.ndarray]:
    """Thumbnails of files of the raw source (for the rejected ones, which are not in the arrays).
    Raises a UserError when the source folder is not on this machine (data prepared elsewhere)."""
    from PIL import Image, ImageOps

    root = raw_root(data)
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


def plot_hue_histogram(counts: np.ndarray, edges: np.ndarray, title: str = "hue of the chromatic pixels", ax=None,
                       boundaries=None):
    """``hue_histogram`` as a polar bar chart, each bar in its own hue (on a polar ``ax``, or a new one); the
    radius is the share of the chromatic pixels, labelled in %. ``boundaries``: hue angles (degrees) where
    a thin line marks the edge between two families (``HUE_FAMILIES``' starts, say)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    if ax is None:
        ax = plt.figure(figsize=(4.5, 4.5)).add_subplot(projection="polar")
    shares = counts / max(counts.sum(), 1)
    ax.bar(np.radians(edges[:-1]), shares, width=np.radians(np.diff(edges)), align="edge",
           color=hue_colours(edges), edgecolor="k", linewidth=0.3)
    top = float(shares.max()) if len(shares) else 0.0
    for angle in boundaries or ():
        ax.plot([np.radians(angle)] * 2, [0, top * 1.05], color="0.3", lw=0.8, ls="--")
    ax.set_title(title, fontsize=10)
    ax.yaxis.set_major_locator(MaxNLocator(3))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(axis="y", labelsize=10, colors="0.3")
    ax.set_rlabel_position(200)  # where the bars are short (cyan), so the labels stay legible
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


def dominant_hues(shares: dict, majority: float = 0.5, lead: float = 1.5, most: int = 2) -> list[str]:
    """The families of ``hue_shares`` that dominate, largest first, or [] when none does: the top k (k up
    to ``most``) dominate when together they hold at least ``majority`` of the pixels and the k-th holds
    at least ``lead`` times the next. Shares of 26, 24, 22 and 22% have no dominant family."""
    ranked = sorted(shares.items(), key=lambda item: item[1], reverse=True)
    for k in range(1, min(most, len(ranked)) + 1):
        following = ranked[k][1] if k < len(ranked) else 0.0
        if sum(v for _, v in ranked[:k]) >= majority and ranked[k - 1][1] >= lead * following:
            return [name for name, _ in ranked[:k]]
    return []


def crop_loss(data: CleanData):
    """What the centre-square crop of ``prepare`` discards from each kept original: its aspect ratio
    (width / height) and the share of its area outside the square. DataFrame with ``split``."""
    w, h = data.index["width"].astype(float), data.index["height"].astype(float)
    return data.index[["split", "source"]].assign(aspect=w / h, discarded=1.0 - np.minimum(w, h) / np.maximum(w, h))


def crop_views(data: CleanData, files: list[str], height: int = 160, shade: float = 0.35) -> list[np.ndarray]:
    """Raw photos of ``files`` at ``height`` pixels, their aspect kept, with what the centre-square crop of
    ``prepare`` discards darkened to ``shade`` of its brightness (the bundled photos are wide: the sides).
    Raises a UserError when the raw folder is not on this machine (``raw_thumbnails``)."""
    from PIL import Image, ImageOps

    root = raw_root(data)
    if not root.is_dir():
        raise UserError(f"the raw photos ('{root}') are not on this machine; the list above names the files")
    out = []
    for name in files:
        with Image.open(root / name) as im:
            rgb = ImageOps.exif_transpose(im).convert("RGB")
        rgb = rgb.resize((max(1, round(rgb.width * height / rgb.height)), height), Image.Resampling.LANCZOS)
        pixels = np.asarray(rgb, dtype=np.float32)
        side = min(rgb.width, rgb.height)
        left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
        mask = np.full(pixels.shape[:2], shade, np.float32)
        mask[top:top + side, left:left + side] = 1.0
        out.append((pixels * mask[..., None]).round().astype(np.uint8))
    return out


def plot_filter_thresholds(result: dict, gray_chroma: float, tint_hue_spread: float, tint_chroma: float,
                           labels=("etiqueta: color", "etiqueta: sin color"), axes=None):
    """The gray/toned filter's thresholds against the labels of ``data.detector.measure``'s ``result``: the
    mean chroma of every labelled photo by label, with the near-gray threshold (left), and mean chroma
    against hue spread with the toned rule's box (right). ``labels``: the legend's names of the two labels."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    fig = axes[0].figure
    stats, marked = result["stats"], result["labels"]
    groups = {False: [n for n in stats if not marked[n]], True: [n for n in stats if marked[n]]}
    colours = {False: "tab:blue", True: "tab:orange"}
    top = max(20.0, 3 * gray_chroma)  # the overlap is near the threshold: the rest goes into the last bar
    bins = np.linspace(0, top, 4 * round(top) // 2 + 1)
    for gray, names in groups.items():
        axes[0].hist(np.clip([stats[n]["chroma_mean"] for n in names], 0, top - 1e-9), bins=bins, alpha=0.6,
                     color=colours[gray], label=f"{labels[gray]} ({len(names):,})")
    axes[0].axvline(gray_chroma, color="k", ls="--", lw=1)
    axes[0].set(xlim=(0, top), xlabel=f"croma media (miniatura de 64 px; la última barra: {top:g} o más)", ylabel="fotos")
    axes[0].legend(fontsize=10)
    for gray, names in groups.items():
        axes[1].scatter([stats[n]["chroma_mean"] for n in names], [stats[n]["hue_spread"] for n in names], s=12,
                        alpha=0.6, color=colours[gray], label=labels[gray])
    axes[1].add_patch(plt.Rectangle((0, 0), tint_chroma, tint_hue_spread, fill=False, ec="k", ls="--", lw=1))
    axes[1].axvline(gray_chroma, color="k", ls=":", lw=1)
    axes[1].set(xlabel="croma media", ylabel="dispersión del tono (°)", yscale="symlog", xlim=(0, None))
    axes[1].set_ylim(0, 200)
    axes[1].set_yticks([0, 1, 3, 6, 10, 30, 100], ["0", "1", "3", "6", "10", "30", "100"])
    axes[1].legend(fontsize=10)
    fig.tight_layout()
    return fig


def as_jpeg(fig, quality: int = 80):
    """``fig`` as a JPEG ``IPython.display.Image``, the figure closed so Jupyter does not show it a second
    time as PNG. A grid of photos weighs several times less as JPEG, which keeps an executed notebook
    small; charts of lines and bars stay sharper as the inline PNG."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="jpeg", bbox_inches="tight", pil_kwargs={"quality": quality})
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="jpeg")


def screenshot_jpeg(path: str | Path, width: int = 1400, quality: int = 85):
    """A screenshot file as a JPEG ``IPython.display.Image`` at most ``width`` pixels wide: legible at a page's
    width, a fraction of the PNG's weight in an executed notebook."""
    import io

    from IPython.display import Image as Shown
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.width > width:
            image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
    return Shown(data=buffer.getvalue(), format="jpeg")


def has_colour_labels(folder: str | Path) -> bool:
    """Whether ``folder`` has the labels ``data.detector.measure`` reads: a CREDITS.csv with a ``colour``
    column (``no`` for a near-grayscale or toned photo)."""
    path = Path(folder) / "CREDITS.csv"
    if not path.is_file():
        return False
    with open(path, newline="") as f:
        return "colour" in (csv.DictReader(f).fieldnames or [])


def _square(rgb, size: int) -> np.ndarray:
    from PIL import ImageOps

    return np.asarray(ImageOps.fit(rgb, (size, size)))


def detector_examples(result: dict, folder: str | Path, n: int = 4, strength: int = 16, size: int = 160,
                      checks=None) -> dict:
    """Examples of ``data.detector.measure(folder)``'s ``result`` for a contact sheet, by group:

    - ``"colour_set_aside"``: up to ``n`` photos labelled colour that the filter set aside;
    - ``"marked_kept"``: up to ``n`` photos labelled near-grayscale or toned that it kept;
    - ``"toned"``: a colour photo it kept (the one of median mean chroma), then a toned print of it per
      toner of ``detector.TONES`` at peak chroma ``strength``, each judged anew by the filter (``checks``:
      the ones ``result`` was measured with, by default prepare's).

    Each example is a dict: ``file``, ``tone`` (None or the toner), ``reason`` (the filter's verdict:
    None, "grayscale" or "sepia"), ``chroma_mean``, ``hue_spread`` (degrees) and ``image``, the centre
    square as (size, size, 3) uint8."""
    from .data.detector import TONES, _load, toned
    from .data.prepare import PrepareConfig, colour_verdict

    folder = Path(folder)

    def load(name: str):
        return _load(folder / name)

    def example(name: str, rgb=None, tone: str | None = None, reason=None, stats=None) -> dict:
        stats = stats or result["stats"][name]
        return {"file": name, "tone": tone, "reason": reason if tone else result["verdicts"][name],
                "chroma_mean": stats["chroma_mean"], "hue_spread": stats["hue_spread"],
                "image": _square(rgb if rgb is not None else load(name), size)}

    groups = {"colour_set_aside": [example(name) for name, _ in result["colour_set_aside"][:n]],
              "marked_kept": [example(name) for name in result["marked_kept"][:n]], "toned": []}
    kept = sorted((s["chroma_mean"], name) for name, s in result["stats"].items()
                  if not result["labels"][name] and result["verdicts"][name] is None)
    if kept:
        name = kept[len(kept) // 2][1]
        rgb = load(name)
        groups["toned"].append(example(name, rgb))
        checks = checks or PrepareConfig().checks()
        for tone in TONES:
            toned_rgb = toned(rgb, tone, strength)
            reason, _, stats = colour_verdict(toned_rgb, checks)
            groups["toned"].append(example(name, toned_rgb, tone, reason, stats))
    return groups
