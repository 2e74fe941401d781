"""How the splits of the clean data compare: whether they come from one distribution (Kolmogorov-Smirnov on
per-image features), and what crosses them (near-duplicates by perceptual hash, series of one shoot by file
name). The EDA's checks of its split; ``analysis`` re-exports them for the notebooks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import SPLITS
from .data.prepare import near_pairs, series_name  # series_name re-exported: the EDA reads it from here

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


def _series_counts(data: CleanData):
    """(the index with a ``series`` column, photos per series and split: DataFrame indexed by series)."""
    index = data.index.assign(series=data.index["source"].map(series_name))
    table = index.pivot_table(index="series", columns="split", values="row", aggfunc="count", fill_value=0)
    return index, table.reindex(columns=list(SPLITS), fill_value=0).astype(int)


def series_across_splits(data: CleanData):
    """The series (``series_name``) with photos in more than one split: DataFrame indexed by series, photos
    per split, and the files of each split (``files_<split>``), largest series first."""
    index, table = _series_counts(data)
    table = table[(table > 0).sum(axis=1) > 1]
    for split in SPLITS:
        files = index[index["split"] == split].groupby("series")["source"].agg(list)
        table[f"files_{split}"] = files.reindex(table.index).apply(lambda v: v if isinstance(v, list) else [])
    order = table[list(SPLITS)].sum(axis=1).sort_values(ascending=False, kind="stable").index
    return table.loc[order]


def group_audit(data: CleanData, distance: int, series_max: int) -> dict:
    """What ``prepare``'s split by groups kept together and what still crosses the splits, for the EDA:

    - ``near_pairs``: the pairs of kept photos within ``distance`` bits of perceptual hash (one group each), with the
      split of each photo;
    - ``short_series``: the series by name of 2 to ``series_max`` photos (one group each), with the number of splits
      they reach (1 when split by group);
    - ``long_series``: the longer series by name (themes, a camera's numbering: split photo by photo), with their
      photos per split; ``crossing``: those of them with photos in train and in val or test."""
    import pandas as pd

    index = data.index.reset_index(drop=True)
    a, b, bits = near_pairs(perceptual_hashes(data), distance).T
    near = pd.DataFrame({"a": index["source"].to_numpy()[a], "b": index["source"].to_numpy()[b], "bits": bits,
                         "split_a": index["split"].to_numpy()[a], "split_b": index["split"].to_numpy()[b]})
    _, table = _series_counts(data)
    size = table.sum(axis=1)
    short = table[(size > 1) & (size <= series_max)].assign(photos=size, splits=(table > 0).sum(axis=1))
    long = table[size > series_max].assign(photos=size).sort_values("photos", ascending=False, kind="stable")
    held = [s for s in SPLITS if s != "train"]
    crossing = long[(long["train"] > 0) & (long[held].sum(axis=1) > 0)]
    return {"near_pairs": near.sort_values("bits", kind="stable").reset_index(drop=True), "short_series": short,
            "long_series": long, "crossing": crossing}


def group_settings(report: dict) -> dict:
    """How ``prepare`` split the data (report.json's ``groups``: "group", "photo", or "published" for Places365; data
    prepared before the split by groups has no such key and was split photo by photo) and the definition of a group
    to audit it with (``group_audit``): prepare's own when it split by group, else its defaults, so that any split is
    checked against the same definition. {"split_by", "distance", "series_max"}."""
    from .data.prepare import PrepareConfig

    grouping = report.get("groups") or {}
    split_by = grouping.get("split_by") or "photo"
    default = PrepareConfig()
    if split_by == "group":
        return {"split_by": split_by, "distance": int(grouping["group_distance"]),
                "series_max": int(grouping["group_series_max"])}
    return {"split_by": split_by, "distance": default.group_distance, "series_max": default.group_series_max}
