"""Round 4 of the hints study (studies/hints/README.md): colour hints, and where the U-Net takes them.

Trains the pipeline's recipe (params.yaml: the L1 phase, then the adversarial phase of the champion's
lr pair) three ways, each for ``--seeds`` seeds: without hints (the baseline), with hints added at the
encoder's first convolution, with hints pooled into every decoder block. Then scores each on a split at
K = 0, 1, 5, 10, 20 hints of the true colours (``chromatic-charm evaluate --hints``' own code: CIEDE2000,
PSNR, colourfulness per view), and writes one JSON with the per-view values (for bootstrap intervals
over photos) and each generator as a checkpoint (for FID/KID elsewhere: ``evaluate CHECKPOINT``).

It needs no MLflow (it runs the training step, not ``train``'s tracked loop), so it runs where only
torch is: a GPU machine with the package on PYTHONPATH. Prepared data first: ``chromatic-charm prepare``.

    python studies/hints/hints_study.py --data "Data/Clean Data" --out outputs/hints_study --device cuda
    python studies/hints/hints_study.py --rescore outputs/hints_study   # score saved checkpoints again (any machine)
    python studies/hints/hints_study.py --report outputs/hints_study/rescored.json   # the tables, with intervals

Scores at K > 0 go through the generator as exported (its own hint input if trained with hints, then the
propagation of ``models.propagation``); ``--learned-only`` leaves the propagation out, to see what the
network learnt by itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from chromatic_charm.data.dataset import ArraySplit, EpochBatchSampler, to_model_batch  # noqa: E402
from chromatic_charm.evaluation import evaluate  # noqa: E402
from chromatic_charm.training import checkpoint  # noqa: E402
from chromatic_charm.training.config import TrainConfig  # noqa: E402
from chromatic_charm.training.loop import (augmentation_generator, build_networks, hint_generator,  # noqa: E402
                                           seed_everything, set_encoder_phase)
from chromatic_charm.training.step import train_step  # noqa: E402

VARIANTS = {"none": (False, "decoder"), "encoder": (True, "encoder"), "decoder": (True, "decoder")}
COUNTS = (0, 1, 5, 10, 20)


def recipe(data: str, device: str, params: dict, pair: str) -> tuple[TrainConfig, TrainConfig]:
    """The pipeline's two phases as TrainConfigs (dvc.yaml's train_l1 and train stages)."""
    t, l1, gan, lrs = params["train"], params["l1"], params["gan"], params["sweep"][pair]
    base = TrainConfig(data_dir=data, encoder=t["encoder"], model_size=t["model_size"], image_size=t["image_size"],
                       load_size=t.get("load_size"),
                       crop_scale=tuple(map(float, str(t["crop_scale"]).split())) if t.get("crop_scale") else None,
                       batch_size=t["batch_size"], device=device, num_workers=0, amp="off")
    phase1 = replace(base, epochs=l1["epochs"], warmup_epochs=l1["epochs"], lr_g=l1["lr_g"],
                     encoder_lr_mult=l1["encoder_lr_mult"], beta1=l1["beta1"])
    phase2 = replace(base, epochs=gan["epochs"], lambda_l1=gan["lambda_l1"], encoder_lr_mult=gan["encoder_lr_mult"],
                     beta1=gan["beta1"], lr_g=lrs["lr_g"], lr_d=lrs["lr_d"])
    return phase1, phase2


def train_phase(config: TrainConfig, device: torch.device, start: dict | None) -> tuple[torch.nn.Module, dict]:
    """One phase as the trainer runs it (its networks, optimisers, batches, augmentation and hint draws),
    without tracking; ``start``: the generator's weights to begin from (the adversarial phase)."""
    seed_everything(config.seed)
    built = build_networks(config, device, pretrained=start is None)
    nets = built.nets
    if start is not None:
        nets.generator.load_state_dict(start)
    split = ArraySplit(Path(config.data_dir), "train")
    sampler = EpochBatchSampler(len(split), config.batch_size, seed=config.seed)
    step = 0
    for epoch in range(config.epochs):
        sampler.set_epoch(epoch)
        set_encoder_phase(nets, config, epoch)
        for batch in sampler:
            lightness, ab = to_model_batch(split[batch], image_size=config.image_size, device=device, augment=True,
                                           load_size=config.load_size, channels_last=built.channels_last,
                                           generator=augmentation_generator(config.seed, step))
            train_step(nets, lightness, ab, l1_only=epoch < config.warmup_epochs,
                       hint_generator=hint_generator(config.seed, step))
            step += 1
    return nets.generator.eval(), asdict(built.gen_cfg)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="Data/Clean Data")
    parser.add_argument("--out", default="outputs/hints_study")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--split", default="val", help="the split scored (default val: the test split stays unseen)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--pair", default="lrG2e-4_lrD2e-4", help="the adversarial phase's lr pair (params.yaml sweep)")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="scale both phases' epochs (a quick check)")
    parser.add_argument("--rescore", metavar="DIR", help="score DIR's saved checkpoints again instead of training")
    parser.add_argument("--report", metavar="JSON", help="print the tables of a results file")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(Path(args.report).read_text())))
        return 0
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    if args.rescore:
        return rescore(Path(args.rescore), args, params)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    phase1, phase2 = recipe(args.data, args.device, params, args.pair)
    scale = lambda c: replace(c, epochs=max(1, round(c.epochs * args.epochs_scale)),  # noqa: E731
                              warmup_epochs=max(0, round(c.warmup_epochs * args.epochs_scale)))
    phase1, phase2 = scale(phase1), scale(phase2)
    results = {"recipe": {"l1": asdict(phase1), "gan": asdict(phase2)}, "device": str(device),
               "torch": torch.__version__, "split": args.split, "counts": COUNTS, "runs": {}}
    for seed in range(args.seeds):  # every variant's first seed first: a cut-short run still compares them
        for variant in args.variants.split(","):
            hints, injection = VARIANTS[variant]
            name = f"{variant}_seed{seed}"
            began = time.time()
            p1 = replace(phase1, hints=hints, hint_injection=injection, seed=seed)
            p2 = replace(phase2, hints=hints, hint_injection=injection, seed=seed)
            generator, gen_cfg = train_phase(p1, device, None)
            generator, gen_cfg = train_phase(p2, device, {k: v.clone() for k, v in generator.state_dict().items()})
            trained = time.time() - began
            path = out / f"{name}.pt"
            weights = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
            state = {"format": checkpoint.FORMAT, "generator_config": gen_cfg, "run_id": None, "generator": weights,
                     "train_config": asdict(p2)}
            checkpoint.save_atomic(state, path)
            scores = evaluate(str(path), data_dir=args.data, split=args.split, crops=params["evaluate"]["crops"],
                              device=device, fid=False, log=False, progress=False,
                              hints=COUNTS if hints else (0,))  # the baseline: K = 0's per-view values
            results["runs"][name] = {"variant": variant, "seed": seed, "train_s": round(trained, 1),
                                     "metrics": scores["metrics"],
                                     "curve": {str(k): v for k, v in (scores.get("hint_curve") or {}).items()},
                                     "crops": scores["crops"], "photos": scores["photos"]}
            print(f"{name}: trained in {trained:.0f} s; " + ", ".join(
                f"{k}={v:.3f}" for k, v in scores["metrics"].items() if "ciede" in k or "colourfulness" in k), flush=True)
            (out / "results.json").write_text(json.dumps(results, indent=1))
            # Kept in half precision (half the size, to carry back from a GPU machine); scored above in full.
            state["generator"] = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
            checkpoint.save_atomic(state, path)
    return 0


def rescore(folder: Path, args, params: dict) -> int:
    """Every ``*.pt`` of ``folder`` scored at COUNTS (any generator takes hints through the propagation);
    writes ``folder/rescored.json``."""
    results = {"split": args.split, "counts": COUNTS, "device": args.device, "runs": {}}
    for path in sorted(folder.glob("*_seed*.pt")):
        variant, seed = path.stem.rsplit("_seed", 1)
        scores = evaluate(str(path), data_dir=args.data, split=args.split, crops=params["evaluate"]["crops"],
                          device=args.device, fid=False, log=False, progress=False, hints=COUNTS)
        results["runs"][path.stem] = {"variant": variant, "seed": int(seed), "metrics": scores["metrics"],
                                      "curve": {str(k): v for k, v in scores["hint_curve"].items()},
                                      "crops": scores["crops"], "photos": scores["photos"]}
        print(f"{path.stem}: " + ", ".join(f"K{k} {np.mean(v['ciede2000']):.2f}" for k, v in scores["hint_curve"].items()),
              flush=True)
        (folder / "rescored.json").write_text(json.dumps(results, indent=1))
    return 0


def report(results: dict) -> str:
    """Markdown: each run's CIEDE2000 at each K, and K = 0 of each hint variant against the no-hint run of
    the same seed (paired over photos, 95% bootstrap), with PSNR and colourfulness."""
    from chromatic_charm import stats

    runs = results["runs"]
    counts = [str(k) for k in results["counts"]]
    lines = ["| run | " + " | ".join(f"CIEDE2000 K={k}" for k in counts) + " | K=10 / K=0 |",
             "| --- |" + " ---: |" * (len(counts) + 1)]
    for name, run in runs.items():
        means = {k: float(np.mean(run["curve"][k]["ciede2000"])) for k in counts if k in run["curve"]}
        ratio = means.get("10", float("nan")) / means["0"]
        lines.append(f"| {name} | " + " | ".join(f"{means[k]:.2f}" if k in means else "" for k in counts)
                     + f" | {ratio:.2f} |")
    lines += ["", "K = 0 against the no-hint run of the same seed (paired over photos):", "",
              "| run | CIEDE2000 | PSNR (dB) | colourfulness |", "| --- | ---: | ---: | ---: |"]
    for name, run in runs.items():
        reference = runs.get(f"none_seed{run['seed']}")
        if run["variant"] == "none" or reference is None:
            continue
        groups = np.repeat(np.arange(run["photos"]), run["crops"])
        cells = []
        for metric in ("ciede2000", "psnr", "colourfulness"):
            a = stats.photo_means(run["curve"]["0"][metric], groups)
            b = stats.photo_means(reference["curve"]["0"][metric], groups)
            cells.append(str(stats.bootstrap_interval(a - b)))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
