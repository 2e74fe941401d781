"""How the splits of the clean data compare: whether they come from one distribution (Kolmogorov-Smirnov on
per-image features), and what crosses them (near-duplicates by perceptual hash, series of one shoot by file
name). The EDA's checks of its split; ``analysis`` re-exports them for the notebooks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import SPLITS

if TYPE_CHECKING:
    from .analysis import CleanData


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


def series_name(name: str) -> str:
    """The series a file name belongs to: the name without its extension and its trailing number (and a
    suffix after the number, ``-harro`` in ``endlesssky__mountain18-harro.jpg``), so that
    ``kphotoalbum__grand_canyon_2.jpg`` -> ``kphotoalbum__grand_canyon`` and ``stellarium__mars-3.jpg`` ->
    ``stellarium__mars``. A name with no number is its own series. Same series is a guess from the name: a
    shared theme (``endlesssky__city``) as well as one shoot or one panorama."""
    stem = Path(name).name.rsplit(".", 1)[0]
    match = re.match(r"^(.*?)[-_ ]?\d+(?:-[A-Za-z]+)?$", stem)
    return match.group(1) if match and match.group(1) else stem


def perceptual_hashes(data: CleanData) -> np.ndarray:
    """The kept photos' perceptual hashes as uint64, in the order of ``data.index``: index.csv's ``phash``
    (prepare's ``perceptual_hash`` of each whole photo, before the crop); without that column, the hash of
    each stored centre square."""
    import pandas as pd

    if "phash" in data.index.columns:
        values = data.index["phash"]
        if pd.api.types.is_numeric_dtype(values) and data.root is not None:  # all digits, read as numbers
            values = pd.read_csv(Path(data.root) / "index.csv", dtype={"phash": str})["phash"]
        return np.array([int(str(v), 16) for v in values], dtype=np.uint64)
    from PIL import Image

    from .data.prepare import perceptual_hash

    return np.array([perceptual_hash(Image.fromarray(np.asarray(data.arrays[s][r])))
                     for s, r in zip(data.index["split"], data.index["row"])], dtype=np.uint64)


def cross_split_neighbours(data: CleanData, reference: str = "train"):
    """For each kept photo, its nearest photo of ``reference`` by perceptual-hash distance (how many of the 64
    bits differ; ``prepare`` drops a photo within ``near_dup_distance``, 4, of an earlier one). A photo of
    ``reference`` is compared with the others of ``reference`` (the distances between unrelated photos of
    one split: the yardstick). DataFrame of split, source, nearest, distance, sorted by distance; empty when
    ``reference`` has fewer than 2 photos."""
    import pandas as pd

    index = data.index.reset_index(drop=True)
    ref = np.flatnonzero(index["split"].to_numpy() == reference)
    if len(ref) < 2:
        return pd.DataFrame(columns=["split", "source", "nearest", "distance"])
    hashes = perceptual_hashes(data)
    dist = np.bitwise_count(hashes[:, None] ^ hashes[None, ref]).astype(np.int64)  # (all, reference)
    dist[ref, np.arange(len(ref))] = 65  # not itself
    best = dist.argmin(1)
    return pd.DataFrame({"split": index["split"], "source": index["source"],
                         "nearest": index["source"].to_numpy()[ref[best]],
                         "distance": dist[np.arange(len(index)), best]}).sort_values(
        ["distance", "split", "source"], kind="stable").reset_index(drop=True)


def series_across_splits(data: CleanData):
    """The series (``series_name``) with photos in more than one split: DataFrame indexed by series, photos
    per split, and the files of each split (``files_<split>``), largest series first."""
    import pandas as pd

    index = data.index.assign(series=data.index["source"].map(series_name))
    table = index.pivot_table(index="series", columns="split", values="row", aggfunc="count", fill_value=0)
    table = table.reindex(columns=list(SPLITS), fill_value=0).astype(int)
    table = table[(table > 0).sum(axis=1) > 1]
    for split in SPLITS:
        files = index[index["split"] == split].groupby("series")["source"].agg(list)
        table[f"files_{split}"] = files.reindex(table.index).apply(lambda v: v if isinstance(v, list) else [])
    order = table[list(SPLITS)].sum(axis=1).sort_values(ascending=False, kind="stable").index
    return table.loc[order]
