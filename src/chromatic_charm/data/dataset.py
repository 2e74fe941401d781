"""Fast loading of clean data: uint8 arrays on disk -> model batches on the device.

The clean data folder (written by ``prepare``) holds ``{split}.npy`` arrays of shape (N, S, S, 3),
uint8 RGB, read through a memory map. A batch is one sorted fancy-index of the map (one copy of
contiguous rows, no per-image decoding), so the loader delivers thousands of images per second per
worker (see benchmarks/loader_benchmark.py). Augmentation (resize, random crop, flip) and the Lab
conversion run batched on the training device, where they are cheap.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset, Sampler

from .. import color
from ..config import MAX_EVAL_CROPS, SPLITS
from ..errors import ConfigError, UserError
from ..views import corner_views, tiles


def read_manifest(root: Path) -> dict:
    """The manifest of a clean data folder, or a UserError saying to run prepare."""
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise UserError(
            f"no prepared data in '{root}' (missing manifest.json); run `chromatic-charm prepare` first"
        )
    return json.loads(path.read_text())


class ArraySplit(Dataset):
    """One split of the clean data. ``dataset[list_of_indices]`` -> uint8 tensor (B, S, S, 3)."""

    def __init__(self, root: Path, split: str):
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        self.path = Path(root) / f"{split}.npy"
        if not self.path.is_file():
            raise UserError(f"missing '{self.path}'; run `chromatic-charm prepare` again")
        self._array: np.ndarray | None = None
        self._length = len(self.array)

    @property
    def array(self) -> np.ndarray:
        # Opened lazily so each DataLoader worker maps the file itself after the fork.
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    def __getstate__(self):
        return {**self.__dict__, "_array": None}

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, indices) -> torch.Tensor:
        if isinstance(indices, (int, np.integer)):
            return torch.from_numpy(np.array(self.array[indices]))
        order = np.sort(np.asarray(indices))
        return torch.from_numpy(self.array[order])


class EpochBatchSampler(Sampler[list[int]]):
    """Shuffled batches for one epoch, reproducible from (seed, epoch).

    ``start_batch`` skips the batches already trained on (resume in the middle of an epoch);
    ``rank``/``world_size`` give each process its own share of every global batch (DDP).
    ``set_epoch`` moves the sampler to another epoch, so one DataLoader (and its workers) serves
    the whole run.
    """

    def __init__(self, n: int, batch_size: int, *, seed: int, epoch: int = 0, shuffle: bool = True,
                 drop_last: bool = True, start_batch: int = 0, rank: int = 0, world_size: int = 1):
        self.n, self.batch_size, self.drop_last, self.seed, self.shuffle = n, batch_size, drop_last, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.set_epoch(epoch, start_batch)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        else:
            self.order = np.arange(self.n)

    @property
    def batches_per_epoch(self) -> int:
        global_batch = self.batch_size * self.world_size
        full = self.n // global_batch
        return full if self.drop_last or self.n % global_batch == 0 else full + 1

    def __len__(self) -> int:
        return max(self.batches_per_epoch - self.start_batch, 0)

    def __iter__(self) -> Iterator[list[int]]:
        global_batch = self.batch_size * self.world_size
        for b in range(self.start_batch, self.start_batch + len(self)):
            chunk = self.order[b * global_batch:(b + 1) * global_batch]
            yield chunk[self.rank::self.world_size].tolist()


class BatchLoader:
    """Iterates a sampler's batches, reading ahead in ``num_workers`` threads.

    Threads, not processes: a batch is one NumPy copy out of the memory map, which runs without the
    GIL, so threads overlap disk reads with training while handing tensors over for free (worker
    processes would copy every batch through shared memory, which measured 7x slower here, see
    benchmarks/loader_benchmark.py). ``num_workers=0`` reads in the calling thread.
    """

    def __init__(self, split: ArraySplit, sampler: EpochBatchSampler, *, num_workers: int = 2,
                 pin_memory: bool = False, prefetch: int = 4):
        self.split, self.sampler, self.num_workers = split, sampler, num_workers
        self.pin_memory, self.prefetch = pin_memory, prefetch

    def __len__(self) -> int:
        return len(self.sampler)

    def _read(self, indices: list[int]) -> torch.Tensor:
        batch = self.split[indices]
        return batch.pin_memory() if self.pin_memory else batch

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self.num_workers == 0:
            yield from map(self._read, self.sampler)
            return
        with ThreadPoolExecutor(self.num_workers, thread_name_prefix="loader") as pool:
            pending: deque = deque()
            for indices in self.sampler:
                pending.append(pool.submit(self._read, indices))
                if len(pending) >= self.prefetch * self.num_workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()


def make_loader(split: ArraySplit, sampler: EpochBatchSampler, *, num_workers: int = 2,
                pin_memory: bool = False) -> BatchLoader:
    return BatchLoader(split, sampler, num_workers=num_workers, pin_memory=pin_memory)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, size, size), bilinear, antialiased where it shrinks."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=size < max(x.shape[-2:]))


CROP_ASPECT = (3 / 4, 4 / 3)  # --crop-scale's aspect ratios (width / height), torchvision's default range


def random_crop_boxes(n: int, side: int, scale: tuple[float, float], *,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 4) int64 boxes (top, left, height, width) of random crops of a (side, side) image, as
    torchvision's RandomResizedCrop draws them: an area of ``scale[0]``-``scale[1]`` of the image's and an
    aspect ratio log-uniform in ``CROP_ASPECT``. Four draws a box, always: the ratio is drawn within what
    the area allows (a crop of the whole area is square) instead of torchvision's up to ten tries and a
    centre-crop fallback, so every box keeps its area and a batch always takes the same draws."""
    lo, hi = scale
    u = torch.rand(n, 4, generator=generator, dtype=torch.float64)
    area = lo + (hi - lo) * u[:, 0]
    # w = side * sqrt(area * r) and h = side * sqrt(area / r) fit in the image for r in [area, 1 / area]
    log_lo = torch.clamp(torch.log(area), min=math.log(CROP_ASPECT[0]))
    log_hi = torch.clamp(-torch.log(area), max=math.log(CROP_ASPECT[1]))
    ratio = torch.exp(log_lo + (log_hi - log_lo) * u[:, 1])
    w = torch.round(side * torch.sqrt(area * ratio)).clamp(1, side).long()
    h = torch.round(side * torch.sqrt(area / ratio)).clamp(1, side).long()
    top = torch.floor(u[:, 2] * (side - h + 1)).long().clamp(max=side - h)
    left = torch.floor(u[:, 3] * (side - w + 1)).long().clamp(max=side - w)
    return torch.stack([top, left, h, w], 1)


def to_model_batch(images: torch.Tensor, *, image_size: int, device: torch.device | str,
                   augment: bool = False, load_size: int | None = None,
                   crop_scale: tuple[float, float] | None = None,
                   generator: torch.Generator | None = None,
                   channels_last: bool = False, shard: tuple[int, int] = (0, 1)) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 RGB (B, S, S, 3) -> (L, ab) on ``device``: (B, 1, s, s) and (B, 2, s, s) in [-1, 1].

    With ``augment``, pix2pix's jitter by default: resize to ``load_size`` (default 286/256 of
    ``image_size``) and take a random ``image_size`` crop, so every view keeps about 90% of the photo's
    side. With ``crop_scale`` = (min, max) instead, random resized crops (``random_crop_boxes``): a share
    of the photo's area between min and max, cut from the stored S-pixel image and resized to
    ``image_size`` (close-ups as well as whole scenes; at 128 px from 256-px photos a crop of 1/4 of the
    area is at its native resolution). Either way half the batch is flipped horizontally. Random draws
    come from ``generator`` (a CPU generator) so a resumed run repeats them exactly. ``shard`` = (rank,
    world size): the images are rank's share of a global batch (every world_size-th image, as
    ``EpochBatchSampler`` deals them); the draws are made for the whole global batch and dealt the
    same way, so each image gets the crop and flip it would get in a single-process run.
    """
    x = images.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
    if augment:
        rank, world_size = shard
        b = x.shape[0] * world_size
        if crop_scale is not None:
            boxes = random_crop_boxes(b, x.shape[-1], crop_scale, generator=generator)[rank::world_size].tolist()
            x = torch.cat([_resize(x[i:i + 1, :, t:t + h, l:l + w], image_size)
                           for i, (t, l, h, w) in enumerate(boxes)])
        else:
            load = load_size or round(image_size * 286 / 256)
            x = _resize(x, load)
            offsets = torch.randint(0, load - image_size + 1, (b, 2), generator=generator)[rank::world_size].tolist()
            x = torch.stack([
                x[i, :, oy:oy + image_size, ox:ox + image_size] for i, (oy, ox) in enumerate(offsets)
            ])
        flips = (torch.rand(b, generator=generator) < 0.5)[rank::world_size]
        x = torch.where(flips.to(x.device)[:, None, None, None], x.flip(-1), x)
    else:
        x = _resize(x, image_size)
    lightness, ab = color.rgb_to_model_input(x, axis=1)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return lightness.contiguous(memory_format=memory_format), ab.contiguous(memory_format=memory_format)


def eval_views(images: torch.Tensor, *, image_size: int, crops: int, device: torch.device | str) -> torch.Tensor:
    """uint8 RGB (B, S, S, 3) -> float RGB (B * crops, 3, s, s) in [0, 1], photo by photo: views
    ``i * crops ... i * crops + crops - 1`` are photo i's. Deterministic, so every run sees the same images.

    View 0 is the whole photo resized to ``image_size`` (what evaluation always used); views 1-4 the four
    corner crops of ``EVAL_CROP_FRACTION`` of the side, resized to ``image_size``; views 5-9 the same five
    mirrored left to right (``views.corner_views``). More views give FID and KID more samples from a small
    test set; they are not independent photos, which is why the sample counts of photos and views are both
    reported."""
    if not 1 <= crops <= MAX_EVAL_CROPS:
        raise ConfigError(f"crops must be between 1 and {MAX_EVAL_CROPS}, got {crops}")
    return _cut(images, corner_views(images.shape[1], images.shape[2], crops), image_size, device)


def eval_tiles(images: torch.Tensor, *, image_size: int, scale: int, device: torch.device | str) -> torch.Tensor:
    """uint8 RGB (B, S, S, 3) -> float RGB (B * scale**2, 3, s, s) in [0, 1]: each photo's scale x scale
    tiles of 1/scale of the side (``views.tiles``; scale 1 is the whole photo), resized to ``image_size``
    (upsampled where a tile is smaller: 85-px tiles at scale 3 of a 256-px photo), photo by photo."""
    return _cut(images, tiles(images.shape[1], images.shape[2], scale), image_size, device)


def _cut(images: torch.Tensor, boxes, image_size: int, device) -> torch.Tensor:
    x = images.to(device).permute(0, 3, 1, 2).float().div_(255.0)
    views = []
    for top, left, h, w, mirrored in boxes:
        view = _resize(x[:, :, top:top + h, left:left + w], image_size)
        views.append(view.flip(-1) if mirrored else view)
    return torch.stack(views, 1).flatten(0, 1)
