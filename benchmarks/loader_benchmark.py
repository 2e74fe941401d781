"""Loader throughput: clean-data images per second, from disk to model-ready (L, ab) batches.

Measures, in one run on one machine:
  1. the DataLoader alone (memory-mapped uint8 rows -> uint8 batches), with 0 and N workers;
  2. the same plus the batched augmentation and Lab conversion (``to_model_batch``) on the CPU,
     the worst case (on a GPU that part runs on the device);
  3. one training step of the full pix2pix model on the CPU at the same batch size, for scale.

Without ``--data`` it synthesises a clean-data folder of random 256x256 images (never cached by
the page cache more than a real one would be: the file is read through the same memory map).

Usage: python benchmarks/loader_benchmark.py [--data "Data/Clean Data"] [--images 4096] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from chromatic_charm.data.dataset import ArraySplit, EpochBatchSampler, make_loader, to_model_batch


def synthesise(root: Path, n: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    array = np.lib.format.open_memmap(root / "train.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
    for start in range(0, n, 512):
        stop = min(start + 512, n)
        array[start:stop] = rng.integers(0, 256, (stop - start, size, size, 3), dtype=np.uint8)
    array.flush()
    (root / "manifest.json").write_text(json.dumps({"format": 1, "size": size}))
    return root


def images_per_second(split: ArraySplit, batch: int, workers: int, convert: bool, epochs: int = 2) -> float:
    sampler = EpochBatchSampler(len(split), batch, seed=0)
    loader = make_loader(split, sampler, num_workers=workers)
    count, start = 0, time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for images in loader:
            if convert:
                to_model_batch(images, image_size=256, device="cpu", augment=True,
                               generator=torch.Generator().manual_seed(count))
            count += len(images)
    return count / (time.perf_counter() - start)


def train_step_images_per_second(batch: int) -> float:
    from chromatic_charm.training.config import TrainConfig
    from chromatic_charm.training.loop import build_networks
    from chromatic_charm.training.step import train_step

    nets, *_ = build_networks(TrainConfig(device="cpu"), torch.device("cpu"))
    lightness, ab = torch.rand(batch, 1, 256, 256) * 2 - 1, torch.rand(batch, 2, 256, 256) * 2 - 1
    train_step(nets, lightness, ab)  # warm-up
    start = time.perf_counter()
    train_step(nets, lightness, ab)
    return batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a prepared clean-data folder (default: synthesise one)")
    parser.add_argument("--images", type=int, default=4096, help="images to synthesise (default 4096)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-model", action="store_true", help="do not time the full model's step")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.data) if args.data else synthesise(Path(tmp), args.images, 256)
        split = ArraySplit(root, "train")
        results = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
            "images": len(split),
            "batch": args.batch,
            "loader_0_workers": images_per_second(split, args.batch, 0, convert=False),
            f"loader_{args.workers}_workers": images_per_second(split, args.batch, args.workers, convert=False),
            "loader_plus_cpu_augment_lab_0_workers": images_per_second(split, args.batch, 0, convert=True, epochs=1),
        }
        if not args.skip_model:
            results["full_model_train_step_cpu"] = train_step_images_per_second(min(args.batch, 8))
    for key, value in results.items():
        print(f"{key:>40}: {value:,.0f} images/s" if isinstance(value, float) else f"{key:>40}: {value}")
    if "full_model_train_step_cpu" in results:
        ratio = results["loader_0_workers"] / results["full_model_train_step_cpu"]
        print(f"{'loader / CPU training step':>40}: {ratio:,.0f}x")


if __name__ == "__main__":
    main()
