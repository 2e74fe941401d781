"""Training throughput (images/s): our trainer side by side with the reference pix2pix.

Measures, in one run on one machine, the per-step work of a training run: take the next batch from
the loader, jitter it (resize to 286, random 256 crop, flip), make (L, ab), update D then G.

- ours: ``chromatic_charm``'s loader (``EpochBatchSampler`` + ``make_loader`` over the prepared
  arrays), ``to_model_batch`` and ``train_step``, with the networks, optimisers and speed settings
  that ``chromatic-charm train`` builds from the same ``TrainConfig`` (``loop.build_networks``). Variants
  are ``TrainConfig`` overrides, e.g. ``--ours default "amp=bf16,channels_last=true"``.
- reference (with ``--reference PATH``, a local checkout of junyanz/pytorch-CycleGAN-and-pix2pix;
  never committed here): its own ``TrainOptions``, ``create_dataset`` and ``create_model`` with
  ``--model colorization``, timed over ``model.set_input(data); model.optimize_parameters()``, as its
  train.py does. It needs scikit-image (its colorization dataset converts with skimage).

Both read the same images: the photos are prepared once (``chromatic-charm prepare``); ours reads
the arrays, the reference a folder of lossless PNGs of the same train rows. Same model (unet_256 +
70x70 PatchGAN, BatchNorm, dropout 0.5), batch size, image size and optimiser (Adam 2e-4, beta1
0.5, lambda_L1 100). Each measurement runs in its own process; rounds alternate the order, and a
figure is the median over rounds, so drift in the machine's load affects both sides alike.

Quality (``--quality-steps N``, default 0 = skip): each side trains N steps on the prepared data at
``--quality-size`` (128: unet_128 / our "small" widths, quicker than 256) and reports the mean
|ab_pred - ab_true| (normalised units, as ``val_l1`` in MLflow) of its generator on the val split,
in eval mode, on identical inputs. Same steps, same data, different random streams: compare within
the noise shown by ``--quality-seeds``.

Usage:
  python benchmarks/train_benchmark.py --reference ../pytorch-CycleGAN-and-pix2pix \\
      [--photos ../shared/data/photos] [--image-size 256] [--batch-size 1] [--steps 8] [--warmup 2] \\
      [--rounds 3] [--device auto] [--ours default ...] [--quality-steps 200] [--json-out r.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = ROOT.parent / "shared" / "data" / "photos"


# ----------------------------------------------------------------------------------------- workers
def _parse_overrides(text: str) -> dict:
    """'amp=bf16,channels_last=true' -> {'amp': 'bf16', 'channels_last': True}."""
    if text in ("", "default"):
        return {}
    out = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        low = value.lower()
        out[key.strip()] = (True if low == "true" else False if low == "false" else
                            None if low == "none" else int(value) if value.lstrip("-").isdigit() else
                            float(value) if low.replace(".", "", 1).replace("e-", "", 1).isdigit() else value)
    return out


def _val_l1(generator_fn, data_dir: Path, size: int, device, n: int = 64) -> float:
    import torch

    from chromatic_charm.data.dataset import ArraySplit, to_model_batch

    split = ArraySplit(data_dir, "val")
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, min(n, len(split)), 8):
            images = split[list(range(start, min(start + 8, n, len(split))))]
            lightness, ab = to_model_batch(images, image_size=size, device=device)
            total += torch.abs(generator_fn(lightness).float() - ab).mean(dim=(1, 2, 3)).sum().item()
            count += len(images)
    return total / count


def worker_ours(job: dict) -> dict:
    import torch

    from chromatic_charm.data.dataset import ArraySplit, EpochBatchSampler, make_loader, to_model_batch
    from chromatic_charm.training.config import TrainConfig
    from chromatic_charm.devices import resolve_device
    from chromatic_charm.training.loop import augmentation_generator, build_networks, seed_everything
    from chromatic_charm.training.step import train_step

    config = TrainConfig(data_dir=job["data"], model_size=job["model_size"], image_size=job["image_size"],
                         batch_size=job["batch_size"], device=job["device"], seed=job["seed"],
                         **_parse_overrides(job["variant"]))
    device = resolve_device(config.device)
    seed_everything(config.seed)
    nets, _, _, channels_last = build_networks(config, device)
    split = ArraySplit(Path(job["data"]), "train")
    sampler = EpochBatchSampler(len(split), config.batch_size, seed=config.seed)
    loader = make_loader(split, sampler, num_workers=config.num_workers, pin_memory=device.type == "cuda")
    total = job["warmup"] + job["steps"]
    step, epoch, start = 0, 0, None
    while step < total:
        sampler.set_epoch(epoch)
        for images in loader:
            if step == job["warmup"]:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            lightness, ab = to_model_batch(images, image_size=config.image_size, device=device, augment=True,
                                           load_size=config.load_size, channels_last=channels_last,
                                           generator=augmentation_generator(config.seed, step))
            losses = train_step(nets, lightness, ab)
            step += 1
            if step == total:
                break
        epoch += 1
    losses = {k: float(v) for k, v in losses.items()}  # also waits for the device
    seconds = time.perf_counter() - start
    result = {"images_per_s": job["steps"] * config.batch_size / seconds, "seconds": seconds, "losses": losses}
    if job.get("quality"):
        result["val_l1"] = _val_l1(lambda x: nets.generator.eval()(x), Path(job["data"]), config.image_size, device)
    return result


def worker_reference(job: dict) -> dict:
    import torch

    sys.path.insert(0, job["reference"])
    os.chdir(job["reference"])
    from data import create_dataset  # the reference's modules
    from models import create_model
    from options.train_options import TrainOptions

    gpu = "0" if job["device"].startswith("cuda") else "-1"
    small = job["model_size"] == "small"
    sys.argv = ["train.py", "--dataroot", job["png_root"], "--name", "bench", "--model", "colorization",
                "--gpu_ids", gpu, "--batch_size", str(job["batch_size"]), "--num_threads", str(job["workers"]),
                "--checkpoints_dir", job["scratch"], "--display_id", "0", "--no_html",
                "--crop_size", str(job["image_size"]), "--load_size", str(round(job["image_size"] * 286 / 256)),
                "--netG", "unet_128" if small else "unet_256",
                "--ngf", "32" if small else "64", "--ndf", "32" if small else "64"]
    torch.manual_seed(job["seed"])
    stdout = sys.stdout
    sys.stdout = sys.stderr  # the reference prints its options; keep stdout for the result
    try:
        opt = TrainOptions().parse()
        dataset = create_dataset(opt)
        model = create_model(opt)
        model.setup(opt)
    finally:
        sys.stdout = stdout
    total = job["warmup"] + job["steps"]
    step, start = 0, None
    while step < total:
        for data in dataset:
            if step == job["warmup"]:
                if gpu != "-1":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            model.set_input(data)
            model.optimize_parameters()
            step += 1
            if step == total:
                break
    losses = {k: float(v) for k, v in model.get_current_losses().items()}
    seconds = time.perf_counter() - start
    result = {"images_per_s": job["steps"] * job["batch_size"] / seconds, "seconds": seconds, "losses": losses}
    if job.get("quality"):
        net = model.netG.eval()
        result["val_l1"] = _val_l1(lambda x: net(x), Path(job["data"]), job["image_size"], model.device)
    return result


def run_job(job: dict, timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, __file__, "--_worker", json.dumps(job)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"train_benchmark: {job['side']} ({job.get('variant', '')}) failed:\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ set-up
def prepare_data(photos: Path, work: Path, size: int) -> tuple[Path, Path]:
    """Prepared arrays for ours and a PNG folder of the same train rows for the reference."""
    import numpy as np
    from PIL import Image

    data = work / "clean"
    done = subprocess.run([sys.executable, "-m", "chromatic_charm", "prepare", "--source", str(photos), "--out",
                           str(data), "--size", str(size), "--no-progress"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise SystemExit(f"train_benchmark: prepare failed: {done.stderr.strip().splitlines()[-1]}")
    rows = np.load(data / "train.npy", mmap_mode="r")
    png = work / "reference" / "train"
    png.mkdir(parents=True)
    for i, row in enumerate(rows):
        Image.fromarray(np.asarray(row)).save(png / f"{i:05d}.png")
    return data, png.parent


def machine() -> dict:
    import torch

    gpu = {"gpu": torch.cuda.get_device_name(0)} if torch.cuda.is_available() else {}
    return describe(torch=torch.__version__, torch_threads=torch.get_num_threads(), **gpu)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", help="checkout of junyanz/pytorch-CycleGAN-and-pix2pix (omit: ours only)")
    p.add_argument("--photos", default=str(DEFAULT_PHOTOS), help="folder of photos (default ../shared/data/photos)")
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=1, help="pix2pix's default is 1")
    p.add_argument("--steps", type=int, default=8, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (compile, allocator, caches)")
    p.add_argument("--rounds", type=int, default=3, help="measurements per side, order alternating")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--workers", type=int, default=2, help="loader workers on both sides")
    p.add_argument("--ours", nargs="+", default=["default"],
                   help="TrainConfig overrides per variant of ours, e.g. default 'amp=bf16,channels_last=true'")
    p.add_argument("--quality-steps", type=int, default=0, help="steps of the quality check (0: skip)")
    p.add_argument("--quality-size", type=int, default=128)
    p.add_argument("--quality-batch", type=int, default=4)
    p.add_argument("--quality-seeds", type=int, default=2, help="seeds per side in the quality check")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    p.add_argument("--json-out")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args._worker:
        job = json.loads(args._worker)
        result = worker_ours(job) if job["side"] == "ours" else worker_reference(job)
        print(json.dumps(result))
        return 0

    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if args.reference and not (Path(args.reference) / "models" / "colorization_model.py").is_file():
        raise SystemExit(f"train_benchmark: '{args.reference}' is not a checkout of pytorch-CycleGAN-and-pix2pix "
                         "(no models/colorization_model.py)")
    if not Path(args.photos).is_dir():
        raise SystemExit(f"train_benchmark: no photo folder at '{args.photos}'; pass --photos")
    info = machine()
    print(f"machine: {info}", flush=True)
    results: dict = {"machine": info, "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                     "config": {"image_size": args.image_size, "batch_size": args.batch_size, "steps": args.steps,
                                "warmup": args.warmup, "device": device}, "speed": {}, "quality": {}}
    with tempfile.TemporaryDirectory(prefix="train-bench-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        data, png_root = prepare_data(Path(args.photos).resolve(), work, max(args.image_size, args.quality_size))
        print(f"data prepared in {time.perf_counter() - t:.0f} s: {len(list((png_root / 'train').iterdir()))} "
              "train images", flush=True)
        base = {"data": str(data), "png_root": str(png_root), "reference": str(Path(args.reference).resolve())
                if args.reference else None, "scratch": str(work / "scratch"), "device": device,
                "workers": args.workers, "seed": 0}
        sides = [("ours", v) for v in args.ours] + ([("reference", "")] if args.reference else [])
        speed: dict[str, list] = {}
        for r in range(args.rounds):
            order = sides if r % 2 == 0 else sides[::-1]
            for side, variant in order:
                name = "reference" if side == "reference" else f"ours ({variant})"
                job = {**base, "side": side, "variant": variant, "model_size": "full", "image_size": args.image_size,
                       "batch_size": args.batch_size, "steps": args.steps, "warmup": args.warmup}
                out = run_job(job, args.timeout)
                speed.setdefault(name, []).append(out["images_per_s"])
                print(f"round {r + 1}: {name}: {out['images_per_s']:.3f} images/s", flush=True)
        results["speed"] = {k: {"median_images_per_s": statistics.median(v), "runs": v} for k, v in speed.items()}

        quality: dict[str, list] = {}
        if args.quality_steps:
            for seed in range(args.quality_seeds):
                for side, variant in sides:
                    name = "reference" if side == "reference" else f"ours ({variant})"
                    job = {**base, "seed": seed, "side": side, "variant": variant, "model_size": "small",
                           "image_size": args.quality_size, "batch_size": args.quality_batch,
                           "steps": args.quality_steps, "warmup": 0, "quality": True}
                    out = run_job(job, args.timeout)
                    quality.setdefault(name, []).append(out["val_l1"])
                    print(f"quality seed {seed}: {name}: val L1 {out['val_l1']:.4f} after {args.quality_steps} steps",
                          flush=True)
        results["quality"] = {k: {"val_l1": v, "mean": statistics.mean(v)} for k, v in quality.items()}

    ref = results["speed"].get("reference", {}).get("median_images_per_s")
    print(f"\n{args.image_size}x{args.image_size}, batch {args.batch_size}, {args.steps} timed steps, {device}, "
          f"median of {args.rounds} rounds ({info['cpu']}{', ' + info['gpu'] if 'gpu' in info else ''})\n")
    print("| trainer | images/s | vs reference | val L1 after quality steps |")
    print("|---|---:|---:|---:|")
    for name, s in results["speed"].items():
        ratio = f"{s['median_images_per_s'] / ref:.2f}x" if ref else "n/a"
        q = results["quality"].get(name)
        qtext = " / ".join(f"{v:.4f}" for v in q["val_l1"]) if q else "not measured"
        print(f"| {name} | {s['median_images_per_s']:.3f} | {ratio} | {qtext} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
