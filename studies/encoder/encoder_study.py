"""The encoder study: pix2pix's U-Net from scratch against a U-Net on an ImageNet encoder, at equal CPU time.

Every recipe trains with the same budget of CPU time (``--max-cpu-minutes``, the process's CPU time over
all its threads, so runs that share the machine still get equal work), as MLflow runs of the experiment
``encoder-study``; then ``benchmarks/quality_benchmark.py`` scores each exported model through the API on the
test split, with the grayscale input beside them. Results: studies/encoder/README.md.

    python studies/encoder/encoder_study.py --data "Data/Clean Data" --cpu-minutes 20 --parallel 2 --measure \
        --reference "previous default=old.onnx"
    python studies/encoder/encoder_study.py --list          # the commands only
    python studies/encoder/encoder_study.py --measure-only --reference old=old.onnx  # export and score what was trained

With ``--parallel 2`` two runs share the 2 cores, one thread each (a single-threaded run wastes no CPU
time on thread synchronisation, so the budget buys the same work either way).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

EXPERIMENT = "encoder-study"

# name -> (flags, the question it answers). Warm-up epochs are about half of what the budget buys at
# 20 CPU minutes (measured in the study: about 40 CPU seconds an epoch at 128 px, for 180 photos in
# batches of 8, validation and sample grid included; about five times that at 256 px).
RECIPES: dict[str, tuple[list[str], str]] = {
    "scratch-128": (["--encoder", "none", "--model-size", "small", "--image-size", "128"],
                    "pix2pix's U-Net from scratch, GAN from the first step (today's recipe)"),
    "lite0-128-gan": (["--encoder", "efficientnet_lite0", "--image-size", "128"],
                      "ImageNet encoder, GAN from the first step"),
    "lite0-128-warmup": (["--encoder", "efficientnet_lite0", "--image-size", "128", "--warmup-epochs", "15"],
                         "ImageNet encoder, L1 alone for about half the budget, then the GAN"),
    "lite0-128-l1": (["--encoder", "efficientnet_lite0", "--image-size", "128", "--warmup-epochs", "10000"],
                     "ImageNet encoder, L1 alone (no GAN at all)"),
    "lite0-128-l1-frozen": (["--encoder", "efficientnet_lite0", "--image-size", "128", "--warmup-epochs", "10000",
                             "--freeze-encoder-epochs", "10000"],
                            "ImageNet encoder kept frozen (only the decoder learns), L1 alone"),
    "lite0-128-l1-lr0.1": (["--encoder", "efficientnet_lite0", "--image-size", "128", "--warmup-epochs", "10000",
                            "--encoder-lr-mult", "0.1"],
                           "ImageNet encoder learning at a tenth of the decoder's rate, L1 alone"),
    "lite0-256-warmup": (["--encoder", "efficientnet_lite0", "--image-size", "256", "--warmup-epochs", "3"],
                         "ImageNet encoder at 256 px, L1 for about half the budget, then the GAN"),
}


def command(name: str, data: str, cpu_minutes: float) -> list[str]:
    flags, _ = RECIPES[name]
    return ["chromatic-charm", "train", "--data", data, *flags, "--batch-size", "8", "--epochs", "10000",
            "--max-cpu-minutes", f"{cpu_minutes:g}", "--device", "cpu", "--workers", "1",
            "--experiment", EXPERIMENT, "--run-name", name, "--checkpoint-dir", f"checkpoints/{EXPERIMENT}/{name}",
            "--checkpoint-every", "200", "--no-progress"]


def measure(names: list[str], references: list[str], out: Path, data: str) -> int:
    """Export every trained recipe to ONNX (logged to its run) and score them all through the API."""
    models = []
    for name in names:
        onnx = out / f"{name}.onnx"
        cmd = ["chromatic-charm", "export", f"checkpoints/{EXPERIMENT}/{name}", "-o", str(onnx), "--data", data]
        print(shlex.join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        models += ["--model", f"{name}={onnx}"]
    for ref in references:
        models += ["--model", ref]
    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "quality_benchmark.py"
    cmd = [sys.executable, str(bench), "--data", data, *models, "--log-runs",
           "--markdown", "studies/encoder/table.md", "--json", str(out / "quality.json"),
           "--grid", "studies/encoder/encoder_study_grid.jpg"]
    print(shlex.join(cmd), flush=True)
    return subprocess.run(cmd).returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="Data/Clean Data", help="prepared data (default 'Data/Clean Data')")
    p.add_argument("--cpu-minutes", type=float, default=20.0, help="CPU-time budget of each run (default 20)")
    p.add_argument("--parallel", type=int, default=1, help="runs at a time, one thread each when > 1 (default 1)")
    p.add_argument("--only", nargs="+", choices=list(RECIPES), help="these recipes only")
    p.add_argument("--list", action="store_true", help="print the commands and stop")
    p.add_argument("--measure", action="store_true", help="after training, export and score the recipes")
    p.add_argument("--measure-only", action="store_true", help="skip training: export and score the trained recipes")
    p.add_argument("--reference", action="append", default=[], metavar="NAME=PATH.onnx",
                   help="more models to score beside the recipes (e.g. the previous default model)")
    args = p.parse_args(argv)
    names = args.only or list(RECIPES)
    logs = Path("outputs") / EXPERIMENT
    logs.mkdir(parents=True, exist_ok=True)
    if args.measure_only:
        return measure(names, args.reference, logs, args.data)
    commands = {name: command(name, args.data, args.cpu_minutes) for name in names}
    for name in names:
        print(f"# {name}: {RECIPES[name][1]}\n{shlex.join(commands[name])}")
    if args.list:
        return 0
    env = dict(os.environ)
    if args.parallel > 1:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    pending, running, failed = list(names), {}, []
    while pending or running:
        while pending and len(running) < max(1, args.parallel):
            name = pending.pop(0)
            log = open(logs / f"{name}.log", "w")
            running[name] = (subprocess.Popen(commands[name], env=env, stdout=log, stderr=subprocess.STDOUT), log)
            print(f"started {name} (log {logs / (name + '.log')})", flush=True)
        time.sleep(5)
        for name, (proc, log) in list(running.items()):
            if proc.poll() is not None:
                log.close()
                del running[name]
                print(f"{name}: exit {proc.returncode}", flush=True)
                if proc.returncode:
                    failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)} (see {logs})", file=sys.stderr)
        return 1
    return measure(names, args.reference, logs, args.data) if args.measure else 0


if __name__ == "__main__":
    sys.exit(main())
