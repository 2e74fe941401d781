"""Raw photos -> clean training data, with a report of everything set aside and why.

Each file is opened, converted to 8-bit sRGB (EXIF orientation, CMYK, palette, alpha, 16-bit),
checked (unreadable, truncated, too small, near-grayscale, sepia), hashed (file bytes and a DCT
perceptual hash), resized so the short side is ``size`` and centre-cropped. Duplicates go before the
split, so no photo lands in two splits. Raw files are only read.

A folder is split by groups of related photos (``split_by="group"``), so that no scene is both trained on and
judged: photos whose perceptual hashes are within ``group_distance`` bits (the same view, re-framed or re-toned)
and photos of one short series by name (``series_name``: ``grand_canyon_2.jpg`` and ``grand_canyon_5.jpg``; at
most ``group_series_max`` photos: a shoot, a panorama) form one group, and a group goes whole to one split. A
longer series by name is a theme or a camera's numbering (``endlesssky__mountain*``: 15 photos by several
photographers; ``IMG_0001.jpg``...), not one scene: its photos are split one by one, so such series do cross the
splits (the EDA counts them). A series is read within one folder: ``trip1/1.jpg`` and ``trip2/1.jpg`` are not one.
The Places365 layout keeps its published split.

Thresholds, measured against the labels of the team's photo set (Data/Raw Data/photos, 506 photos, 55
marked near-grayscale or sepia in CREDITS.csv, column ``colour``), chroma on a 64 px thumbnail
(benchmarks/gray_detector.py prints the table; the EDA notebook shows it):

- near-grayscale: mean chroma below ``gray_chroma`` = 5. The marked photos measure 0 to 5.8 and the
  faintest colour photos 5.0 to 5.8 (a frozen pond, night skies, snow): no threshold separates the two,
  so this one sets aside no colour photo (precision 1.0) and keeps the 10 faintest marked ones (recall
  0.82) rather than throwing away pale colour.
- sepia (a toned print: one hue everywhere): hue spread (the chroma-weighted circular standard deviation
  of the hue, ``chroma_stats``) below ``tint_hue_spread`` = 6 degrees with mean chroma below
  ``tint_chroma`` = 25. Sepia, cyanotype, selenium and gold toning of the set's photos at three
  strengths measure 0.1 to 5.9 degrees and mean chroma 3 to 24; of the 451 colour photos, 2 one-hue
  scenes fall inside (a blue misty mountain, an orange city at dusk). A muted colour photo has many
  hues and is kept: only the tint, not the faintness, makes a sepia.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError
from tqdm.auto import tqdm

from ..color import chroma_stats
from ..images import to_rgb
from ..config import SPLITS, project_root
from ..errors import ConfigError, UserError
from ..files import atomic_path, write_text_atomic
from . import sources

SPLIT_BY = ("group", "photo")
REASONS = ("unreadable", "truncated", "too_small", "grayscale", "sepia", "duplicate")
OUTPUTS = ("train.npy", "val.npy", "test.npy", "index.csv", "report.json", "manifest.json")


@dataclass(frozen=True)
class PrepareConfig:
    source: str = "kaggle"  # "kaggle" or a folder of photos
    out_dir: Path = Path("Data/Clean Data")
    raw_dir: Path = Path("Data/Raw Data")
    size: int = 256  # stored side in pixels
    seed: int = 0  # split of a folder
    val_frac: float = 0.1
    test_frac: float = 0.1
    min_size: int = 128  # reject a short side below this
    gray_chroma: float = 5.0  # mean Lab chroma below this: near-grayscale
    tint_hue_spread: float = 6.0  # hue spread (degrees) below this, with mean chroma below tint_chroma: sepia
    tint_chroma: float = 25.0  # a toned print is not more colourful than this (strong sepia: about 10-24)
    near_dup_distance: int = 4  # perceptual hashes within this many of 64 bits: near duplicate
    split_by: str = "group"  # a folder's split: "group" (related photos stay together) or "photo"
    group_distance: int = 12  # perceptual hashes within this many bits: one group (the same view, re-framed)
    group_series_max: int = 4  # a series by name of at most this many photos is one group (a shoot)
    workers: int | None = None  # processes; default all cores
    progress: bool = True

    def __post_init__(self):
        if self.size < 16:
            raise ConfigError("size must be at least 16")
        if not (0 <= self.val_frac < 1 and 0 <= self.test_frac < 1 and self.val_frac + self.test_frac < 1):
            raise ConfigError("val_frac and test_frac must be in [0, 1) and sum to less than 1")
        if self.gray_chroma < 0 or self.tint_chroma < 0 or not 0 <= self.tint_hue_spread <= 180:
            raise ConfigError("gray_chroma and tint_chroma must be >= 0, tint_hue_spread in [0, 180] degrees")
        if not 0 <= self.near_dup_distance < 32:
            raise ConfigError("near_dup_distance must be in [0, 32)")
        if self.split_by not in SPLIT_BY:
            raise ConfigError(f"split_by must be one of {', '.join(SPLIT_BY)}, not '{self.split_by}'")
        if not 0 <= self.group_distance < 32:
            raise ConfigError("group_distance must be in [0, 32)")
        if self.group_series_max < 1:
            raise ConfigError("group_series_max must be at least 1 (1: no series by name is a group)")

    def checks(self) -> Checks:
        return Checks(self.size, self.min_size, self.gray_chroma, self.tint_hue_spread, self.tint_chroma)


@dataclass(frozen=True)
class Checks:
    """What a worker needs to check and convert one file (PrepareConfig's per-file part)."""

    size: int
    min_size: int
    gray_chroma: float
    tint_hue_spread: float
    tint_chroma: float


@dataclass
class Inspection:
    """One file's verdict: ``reason`` is None for a photo that is kept (so far: duplicates are found later)."""

    reason: str | None = None
    detail: str = ""
    notes: list[str] = field(default_factory=list)  # conversions made (CMYK, palette, 16-bit, EXIF rotation...)
    mode: str = ""
    width: int = 0
    height: int = 0
    sha256: str | None = None
    chroma_mean: float | None = None
    chroma_spread: float | None = None
    hue_spread: float | None = None
    phash: int | None = None
    duplicate_of: str | None = None  # the earlier file it copies, and the hash distance (-1: exact)
    distance: int | None = None
    pixels: np.ndarray | None = field(default=None, repr=False)  # size x size x 3, uint8


# ---------------------------------------------------------------- one file (runs in a worker)

def perceptual_hash(rgb: Image.Image) -> int:
    """64-bit DCT hash: the signs of the 8x8 lowest frequencies of a 32x32 gray copy vs their median."""
    from scipy.fft import dctn

    gray = np.asarray(rgb.convert("L").resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    low = dctn(gray, norm="ortho")[:8, :8].ravel()
    bits = low > np.median(low[1:])  # the DC term would dominate the median
    return int(np.packbits(bits).view(">u8")[0])


def centre_square(rgb: Image.Image, size: int) -> np.ndarray:
    w, h = rgb.size
    scale = size / min(w, h)
    resized = rgb.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.LANCZOS,
                         reducing_gap=3.0)
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    return np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.uint8)


def colour_verdict(rgb: Image.Image, checks: Checks) -> tuple[str | None, str, dict]:
    """("grayscale" | "sepia" | None, why, chroma_stats) of an RGB photo, measured on a 64 px thumbnail."""
    thumb = rgb.copy()
    thumb.thumbnail((64, 64), Image.Resampling.BOX)
    stats = chroma_stats(np.asarray(thumb, dtype=np.float64) / 255.0)
    if stats["chroma_mean"] < checks.gray_chroma:
        return "grayscale", f"mean chroma {stats['chroma_mean']:.2f} < {checks.gray_chroma}", stats
    if stats["hue_spread"] < checks.tint_hue_spread and stats["chroma_mean"] < checks.tint_chroma:
        return "sepia", (f"one tint: hue spread {stats['hue_spread']:.1f} deg < {checks.tint_hue_spread}, "
                         f"mean chroma {stats['chroma_mean']:.2f} < {checks.tint_chroma}"), stats
    return None, "", stats


def inspect_file(path: str | Path, checks: Checks) -> Inspection:
    """Check and convert one file. Never raises: problems become a ``reason``."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    out = Inspection()
    try:
        data = Path(path).read_bytes()
        out.sha256 = hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as image:
            out.mode = image.mode
            image.load()
            rgb, out.notes = to_rgb(image)
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        return replace(out, reason="unreadable", detail=str(exc).split(" (")[0][:200])
    except (OSError, SyntaxError, ValueError) as exc:
        reason = "truncated" if "truncated" in str(exc) or "broken data stream" in str(exc) else "unreadable"
        return replace(out, reason=reason, detail=f"{type(exc).__name__}: {exc}"[:200])
    out.width, out.height = rgb.size
    if min(rgb.size) < checks.min_size:
        return replace(out, reason="too_small", detail=f"{rgb.width}x{rgb.height} < {checks.min_size} px")
    reason, detail, stats = colour_verdict(rgb, checks)
    out.chroma_mean, out.chroma_spread, out.hue_spread = stats["chroma_mean"], stats["chroma_spread"], stats["hue_spread"]
    if reason:
        return replace(out, reason=reason, detail=detail)
    out.phash = perceptual_hash(rgb)
    out.pixels = centre_square(rgb, checks.size)
    return out


_STAGING: dict[str, np.ndarray] = {}  # per worker process: the staging array, opened once


def _inspect_into_staging(job: tuple[int, str, str, Checks]) -> Inspection:
    """``inspect_file``, writing the pixels straight into row ``index`` of the staging array.

    Only the small result travels back to the main process, not 192 KB of pixels per photo: the
    main process was the bottleneck at the size of Places365 (benchmarks/prepare_benchmark.py).
    """
    index, staging_path, path, checks = job
    result = inspect_file(path, checks)
    if result.pixels is not None:
        staging = _STAGING.get(staging_path)
        if staging is None:
            staging = _STAGING[staging_path] = np.load(staging_path, mmap_mode="r+")
        staging[index] = result.pixels
        result.pixels = None
    return result


# ---------------------------------------------------------------- the whole set

def find_duplicates(sha: list[str], phash: np.ndarray, distance: int) -> dict[int, tuple[int, int]]:
    """{index: (index of the earlier image it duplicates, hash distance)}; exact copies have distance -1."""
    dups: dict[int, tuple[int, int]] = {}
    first_of: dict[str, int] = {}
    for i, digest in enumerate(sha):
        if digest in first_of:
            dups[i] = (first_of[digest], -1)
        else:
            first_of[digest] = i
    hashes = phash.astype(np.uint64)
    for start in range(0, len(hashes), 256):
        block = hashes[start:start + 256]
        dist = np.bitwise_count(block[:, None] ^ hashes[None, :])  # (block, N)
        for offset, row in enumerate(dist):
            j = start + offset
            if j in dups:
                continue
            earlier = np.flatnonzero(row[:j] <= distance)
            if earlier.size:
                dups[j] = (int(earlier[0]), int(row[earlier[0]]))
    return dups


def series_name(name: str) -> str:
    """The series a file name belongs to: the name without its folder, extension and trailing number (and a
    suffix after the number, ``-harro`` in ``endlesssky__mountain18-harro.jpg``), so that
    ``kphotoalbum__grand_canyon_2.jpg`` -> ``kphotoalbum__grand_canyon`` and ``stellarium__mars-3.jpg`` ->
    ``stellarium__mars``. A name with no number is its own series. Same series is a guess from the name: a
    shared theme (``endlesssky__city``) as well as one shoot or one panorama."""
    stem = Path(name).name.rsplit(".", 1)[0]
    match = re.match(r"^(.*?)[-_ ]?\d+(?:-[A-Za-z]+)?$", stem)
    return match.group(1) if match and match.group(1) else stem


def near_pairs(phash: np.ndarray, distance: int) -> np.ndarray:
    """(K, 3) int64: each pair of perceptual hashes within ``distance`` bits of each other once, as (i, j, bits)
    with i < j, found block by block (no N x N matrix for a large set)."""
    hashes = np.asarray(phash, dtype=np.uint64)
    found = [np.empty((0, 3), dtype=np.int64)]
    for start in range(0, len(hashes), 256):
        dist = np.bitwise_count(hashes[start:start + 256, None] ^ hashes[None, start:]).astype(np.int64)
        a, b = np.nonzero(np.triu(dist <= distance, 1))  # (block, the rest): j > i
        found.append(np.column_stack([start + a, start + b, dist[a, b]]))
    return np.concatenate(found)


def photo_groups(names: list[str], phash: np.ndarray, distance: int, series_max: int) -> np.ndarray:
    """A group number per photo (0, 1, ... in order of first appearance): photos of one series by name
    (``series_name``, within one folder) of at most ``series_max`` photos, or within ``distance`` bits of
    perceptual hash of each other, transitively."""
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    series = [f"{Path(name).parent.as_posix()}/{series_name(name)}" for name in names]
    length: dict[str, int] = {}
    for key in series:
        length[key] = length.get(key, 0) + 1
    first: dict[str, int] = {}
    for i, key in enumerate(series):
        if length[key] <= series_max:
            join(i, first.setdefault(key, i))
    for i, j, _ in near_pairs(phash, distance):
        join(int(i), int(j))
    roots = [root(i) for i in range(len(names))]
    number: dict[int, int] = {}
    return np.array([number.setdefault(r, len(number)) for r in roots], dtype=np.int64)


def _held_out_sizes(n: int, config: PrepareConfig) -> tuple[int, int]:
    n_val, n_test = round(config.val_frac * n), round(config.test_frac * n)
    if n >= 3:
        n_val, n_test = max(n_val, 1 if config.val_frac else 0), max(n_test, 1 if config.test_frac else 0)
    if n - n_val - n_test < 1:
        raise UserError(f"only {n} usable images: too few to split into train/val/test; add photos")
    return n_val, n_test


def split_groups(groups: np.ndarray, n_val: int, n_test: int, seed: int) -> list[str]:
    """train/val/test per photo, whole groups at a time: in a seeded random order of the groups, each goes to
    the held-out split that lacks more photos if it fits there, else to the other held-out split if it fits there,
    else to train. A held-out split can end short of its target when the groups left do not fit (``prepare``'s
    report records both, and its summary warns). One photo per group is a plain random split."""
    groups = np.asarray(groups)
    sizes = np.bincount(groups)
    place = np.full(len(sizes), "train", dtype=object)
    need = {"val": n_val, "test": n_test}
    for g in np.random.default_rng(seed).permutation(len(sizes)):
        for split in sorted(need, key=lambda s: -need[s]):
            if 0 < sizes[g] <= need[split]:
                place[g], need[split] = split, need[split] - sizes[g]
                break
    return place[groups].tolist()


def prepare(config: PrepareConfig) -> dict:
    """Run the whole step; returns the report (also written to ``out_dir/report.json``)."""
    started = time.time()
    out_dir = Path(config.out_dir)
    root, entries, keep_split = _scan(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging_path = out_dir / ".staging.npy"
    try:
        staging = np.lib.format.open_memmap(staging_path, mode="w+", dtype=np.uint8,
                                            shape=(len(entries), config.size, config.size, 3))
        results = _check([path for _, path in entries], staging_path, config)
        rel = [str(Path(p).relative_to(root)) for _, p in entries]
        _deduplicate(results, rel, config.near_dup_distance)
        kept = [i for i, r in enumerate(results) if r.reason is None]
        if not kept:
            raise UserError(f"no usable images among {len(entries)} in '{root}' (see the reasons with --no-progress off)")
        groups = (photo_groups([rel[i] for i in kept], np.array([results[i].phash for i in kept], dtype=np.uint64),
                               config.group_distance, config.group_series_max)
                  if config.split_by == "group" and not keep_split else np.arange(len(kept)))
        labels = _split(groups, entries, kept, keep_split, config)
        rows = _write_splits(out_dir, staging, kept, labels, results, rel, config.size)
        del staging
    finally:
        staging_path.unlink(missing_ok=True)
    data_version = _write_index(out_dir, rows)

    report = _report(config, root, rel, results, labels, data_version, out_dir)
    report["groups"] = _group_summary(groups, labels, [rel[i] for i in kept], keep_split, config)
    report["seconds"] = round(time.time() - started, 1)
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=1))
    manifest = {"format": 1, "size": config.size, "splits": {s: labels.count(s) for s in SPLITS},
                "data_version": data_version, "source": report["source"], "seed": config.seed,
                "split_by": report["groups"]["split_by"],
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_text_atomic(out_dir / "manifest.json", json.dumps(manifest, indent=1))
    return report


def _scan(config: PrepareConfig) -> tuple[Path, list[tuple[str | None, Path]], bool]:
    """(the folder the files are named relative to, [(published split or None, file)], keep the published split).

    A folder that holds the Places365 layout (e.g. 'Data/Raw Data' after a download, tracked by DVC)
    keeps the published split, as --source kaggle does."""
    keep_split = config.source == "kaggle" or sources.find_places_root(Path(config.source)) is not None
    if keep_split:
        found = sources.locate_places(Path(config.raw_dir) if config.source == "kaggle" else Path(config.source),
                                      progress=config.progress, download=config.source == "kaggle")
        root = next(iter(found.values()))[0].parents[1]
        return root, [(split, path) for split in SPLITS for path in found[split]], True
    root = Path(config.source)
    return root, [(None, path) for path in sources.list_images(root)], False


def _check(paths: list[Path], staging_path: Path, config: PrepareConfig) -> list[Inspection]:
    """Every file checked by the workers, its pixels written into its row of the staging array."""
    checks = config.checks()
    jobs = [(i, str(staging_path), str(path), checks) for i, path in enumerate(paths)]
    workers = config.workers or os.cpu_count() or 1
    if workers == 1 or getattr(sys.modules["__main__"], "__file__", None) == "<stdin>":
        # in this process: one worker needs no pool, and a script read from stdin (`python - <<EOF`) cannot be
        # re-imported by a fork server's or spawn's children, which die on start and leave the pool waiting for ever
        stream = map(_inspect_into_staging, jobs)
        return list(tqdm(stream, total=len(jobs), desc="checking photos", unit="img", disable=not config.progress))
    # Not "fork": a copy of a process with threads (a Jupyter kernel, a web server, a test runner) can
    # inherit a lock another thread held and hang for ever; the fork server is a fresh single-threaded process
    with get_context("spawn" if os.name == "nt" else "forkserver").Pool(workers) as pool:
        stream = pool.imap(_inspect_into_staging, jobs, chunksize=16)
        return list(tqdm(stream, total=len(jobs), desc="checking photos", unit="img", disable=not config.progress))


def _deduplicate(results: list[Inspection], rel: list[str], distance: int) -> None:
    """Mark exact and near copies of an earlier kept photo as duplicates."""
    ok = [i for i, r in enumerate(results) if r.reason is None]
    dups = find_duplicates([results[i].sha256 for i in ok],
                           np.array([results[i].phash for i in ok], dtype=np.uint64), distance)
    for k, (first, dist) in dups.items():
        results[ok[k]] = replace(results[ok[k]], reason="duplicate", duplicate_of=rel[ok[first]], distance=dist,
                                 detail="exact copy" if dist < 0 else f"perceptual hash distance {dist}")


def _split(groups: np.ndarray, entries, kept: list[int], keep_split: bool, config: PrepareConfig) -> list[str]:
    """The split of each kept photo: the published one, or a seeded draw of whole groups for a folder."""
    if keep_split:
        labels = [entries[i][0] for i in kept]
        wanted = {split: 1 for split in SPLITS}
    else:
        n_val, n_test = _held_out_sizes(len(kept), config)
        labels = split_groups(groups, n_val, n_test, config.seed)
        wanted = {"train": 1, "val": n_val, "test": n_test}
    for split in SPLITS:
        if labels.count(split) == 0 and wanted[split] > 0:
            hint = (" (no group of related photos fits in it: lower --group-series-max or --group-distance, or use"
                    " --split-by photo)" if config.split_by == "group" and not keep_split else "")
            raise UserError(f"the {split} split would be empty{hint}; add photos or change the fractions")
    return labels


def _write_splits(out_dir: Path, staging, kept, labels, results, rel, size: int) -> list[list]:
    """{split}.npy from the staging rows, each written atomically; returns the index rows."""
    rows = []
    for split in SPLITS:
        members = [i for i, label in zip(kept, labels) if label == split]
        with atomic_path(out_dir / f"{split}.npy") as tmp:
            array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(members), size, size, 3))
            for start in range(0, len(members), 256):  # blocks of rows: one gather per block, not per row
                array[start:start + 256] = staging[members[start:start + 256]]
            array.flush()
            del array
        for row, i in enumerate(members):
            r = results[i]
            rows.append([split, row, rel[i], r.width, r.height, r.mode, f"{r.chroma_mean:.3f}",
                         f"{r.chroma_spread:.3f}", f"{r.hue_spread:.2f}", f"{r.phash:016x}"])
    return rows


def _write_index(out_dir: Path, rows: list[list]) -> str:
    """index.csv; returns the data version (a hash of it: which files, where, how converted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["split", "row", "source", "width", "height", "mode", "chroma_mean", "chroma_spread", "hue_spread", "phash"])
    writer.writerows(rows)
    write_text_atomic(out_dir / "index.csv", buffer.getvalue())
    return hashlib.sha256(buffer.getvalue().encode()).hexdigest()[:12]


def _from_project(path) -> str:
    """A path as the report records it: relative to the project root (readers resolve it against the
    root again), so reports, notebooks and their outputs carry no machine's absolute paths."""
    path = Path(path).resolve()
    try:
        return Path(os.path.relpath(path, project_root())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return str(path)


def _report(config, root, rel, results, labels, data_version, out_dir) -> dict:
    rejected: dict[str, list] = {reason: [] for reason in REASONS}
    converted: dict[str, list] = {}
    for name, r in zip(rel, results):
        if r.reason:
            item = {"file": name, "detail": r.detail}
            if r.reason == "duplicate":
                item.update(duplicate_of=r.duplicate_of, distance=r.distance)
            rejected[r.reason].append(item)
        for note in r.notes:
            converted.setdefault(note, []).append(name)
    source = config.source if config.source == "kaggle" else _from_project(config.source)
    settings = {**asdict(config), "source": source, "out_dir": _from_project(config.out_dir),
                "raw_dir": _from_project(config.raw_dir)}
    return {
        "source": source,
        "root": _from_project(root),
        "out_dir": _from_project(out_dir),
        "config": settings,
        "counts": {"scanned": len(rel), "kept": len(labels), **{s: labels.count(s) for s in SPLITS},
                   "rejected": {k: len(v) for k, v in rejected.items()},
                   "converted": {k: len(v) for k, v in converted.items()}},
        "rejected": rejected,
        "converted": converted,
        "thresholds": {"gray_chroma": config.gray_chroma, "tint_hue_spread": config.tint_hue_spread,
                       "tint_chroma": config.tint_chroma,
                       "near_dup_distance": config.near_dup_distance, "min_size": config.min_size},
        "data_version": data_version,
    }


def _group_summary(groups, labels, names, keep_split: bool, config: PrepareConfig) -> dict:
    """How the split was drawn: by what, how many groups, the photos each split was meant to get (``target``), the
    largest group in each split, and the series by name found in more than one split (when split by group: series
    longer than ``group_series_max``, which are split photo by photo)."""
    if keep_split:
        return {"split_by": "published", "groups": None}
    sizes = np.bincount(groups)
    n_val, n_test = _held_out_sizes(len(labels), config)
    series: dict[str, set] = {}
    for name, label in zip(names, labels):
        series.setdefault(series_name(name), set()).add(label)
    by_group = config.split_by == "group"
    return {"split_by": config.split_by, "group_distance": config.group_distance if by_group else None,
            "group_series_max": config.group_series_max if by_group else None,
            "groups": int(len(sizes)), "groups_of_several": int((sizes > 1).sum()),
            "target": {"train": len(labels) - n_val - n_test, "val": n_val, "test": n_test},
            "largest_group": {s: int(max((sizes[g] for g, l in zip(groups, labels) if l == s), default=0))
                              for s in SPLITS},
            "series_across_splits": sorted(k for k, v in series.items() if len(v) > 1)}


def format_summary(report: dict, limit: int = 10) -> str:
    counts = report["counts"]
    lines = [f"prepared {counts['kept']} of {counts['scanned']} images into {report['out_dir']} "
             f"(train {counts['train']}, val {counts['val']}, test {counts['test']}; "
             f"data version {report['data_version']})"]
    groups = report.get("groups") or {}
    if groups.get("split_by") == "group":
        lines.append(f"  split by group: {groups['groups']} groups of related photos ({groups['groups_of_several']} of "
                     f"several photos: a series by name of at most {groups['group_series_max']}, or perceptual hashes "
                     f"within {groups['group_distance']} bits), "
                     f"each whole in one split")
        for split, wanted in (groups.get("target") or {}).items():
            got = counts.get(split, 0)
            if split != "train" and got < wanted:
                lines.append(f"  warning: {split} got {got} photos of the {wanted} wanted: the groups left did not fit "
                             "(lower --group-series-max, or --split-by photo)")
    for reason in REASONS:
        items = report["rejected"][reason]
        if items:
            lines.append(f"  {reason}: {len(items)}")
            for item in items[:limit]:
                extra = f" (copy of {item['duplicate_of']})" if "duplicate_of" in item else ""
                lines.append(f"    {item['file']}: {item['detail']}{extra}")
            if len(items) > limit:
                lines.append(f"    ... and {len(items) - limit} more (see {Path(report['out_dir']) / 'report.json'})")
    for mode, files in report["converted"].items():
        shown = ", ".join(files[:limit]) + (f", ... and {len(files) - limit} more" if len(files) > limit else "")
        lines.append(f"  converted from {mode}: {len(files)} ({shown})")
    return "\n".join(lines)
