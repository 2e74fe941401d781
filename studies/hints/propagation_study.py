"""Round 6 of the hints study (studies/hints/README.md): where a colour hint reaches (issue 34).

Scores hint propagations on a split, in-process through the API's own code path (``inference.Colorizer``:
the photo turned gray, the network at its grid, the propagation, the colour upsampled to the photo), for the
served ONNX model:

- **harm**: one hint of the true colour at a random pixel (``--harm-draws`` draws a photo, fixed seeds); the
  share of the photo's pixels whose CIEDE2000 to the truth grows by more than 2 units over the result without
  hints. A true colour should hurt almost nothing.
- **gain**: mean CIEDE2000 at K = 0, 1, 3, 5, 10 random true-colour hints (the seeds of
  ``benchmarks/hints_benchmark.py``), and each K's ratio to K = 0.

Candidates: ``global`` (round 4's propagation, in numpy: identical to the exported graph's) and the
``geodesic`` family of ``chromatic_charm.spread`` over a grid of its edge costs and spread. Then the round's
rule (written in the study page before the runs) picks one.

    python studies/hints/propagation_study.py --split val --out outputs/propagation_study/val.json
    python studies/hints/propagation_study.py --report outputs/propagation_study/val.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from chromatic_charm import color, spread  # noqa: E402
from chromatic_charm.inference import Colorizer, default_model_path  # noqa: E402
from chromatic_charm.metrics import ciede2000  # noqa: E402
from chromatic_charm.reporting import random_hints  # noqa: E402

COUNTS = (0, 1, 3, 5, 10)
SEED = 2024  # benchmarks/hints_benchmark.py's
HARM_SEED = 7000
HARM_DELTA = 2.0


GRID = {"edge_lightness": (30.0, 60.0, 120.0), "edge_colour": (10.0, 20.0, 40.0), "spread": (0.3, 0.5)}


def candidates(grid: dict = GRID, rounds: int = 2) -> dict[str, spread.SpreadConfig]:
    out = {"global": spread.SpreadConfig(method="global", spread=0.3)}  # round 4's, as the graph has it
    suffix = "" if rounds == 2 else f"-r{rounds}"
    for edge_l, edge_c, sigma in itertools.product(grid["edge_lightness"], grid["edge_colour"], grid["spread"]):
        out[f"geodesic-L{edge_l:g}-c{edge_c:g}-s{sigma:g}{suffix}"] = spread.SpreadConfig(
            method="geodesic", edge_lightness=edge_l, edge_colour=edge_c, spread=sigma, rounds=rounds)
    return out


class Propagating(Colorizer):
    """The served model's network, then ``spread.propagate`` with ``config`` (instead of the graph's own)."""

    config: spread.SpreadConfig = spread.SpreadConfig()

    def predict_ab(self, l_norm, hint_map=None):
        ab = super().predict_ab(l_norm, None)
        if hint_map is None:
            return ab
        return spread.propagate(l_norm[0, 0], ab[0], hint_map[0], self.config)[None]


def lab(rgb: np.ndarray) -> np.ndarray:
    return color.rgb_to_lab(rgb.astype(np.float32) / 255)


def score(args: tuple) -> dict:
    name, config, data, split, model, harm_draws, max_photos = args
    colorizer = Propagating(model, threads=1)
    colorizer.config = config
    photos = np.load(Path(data) / f"{split}.npy", mmap_mode="r")[:max_photos]
    out = {"name": name, "config": config.describe(), "ciede2000": {k: [] for k in COUNTS}, "harm": [],
           "seconds": 0.0}
    began = time.perf_counter()
    for i, truth in enumerate(photos):
        truth = np.ascontiguousarray(truth)
        gray = np.asarray(Image.fromarray(truth).convert("L"))
        real = lab(truth)
        plain = ciede2000(lab(colorizer.colorize_gray(gray)), real)
        out["ciede2000"][0].append(float(plain.mean()))
        for k in COUNTS[1:]:
            result = colorizer.colorize_gray(gray, random_hints(truth, k, SEED + 1000 * i + k))
            out["ciede2000"][k].append(float(ciede2000(lab(result), real).mean()))
        harms = []
        for d in range(harm_draws):
            result = colorizer.colorize_gray(gray, random_hints(truth, 1, HARM_SEED + 100 * i + d))
            harms.append(float((ciede2000(lab(result), real) - plain > HARM_DELTA).mean()))
        out["harm"].append(float(np.mean(harms)))
    out["seconds"] = time.perf_counter() - began
    print(f"{name}: {out['seconds']:.0f} s", file=sys.stderr, flush=True)
    return out


def boot_counts(n: int, seed: int = 0, resamples: int = 2000) -> np.ndarray:
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=resamples)


def interval(values: np.ndarray) -> tuple[float, float, float]:
    boot = boot_counts(len(values)) @ values / len(values)
    return float(values.mean()), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def ratio(result: dict, k: int, counts: np.ndarray) -> np.ndarray:
    """The bootstrap distribution of the ratio of mean CIEDE2000 at K = k to K = 0 (resampled photos)."""
    return (counts @ np.asarray(result["ciede2000"][k])) / (counts @ np.asarray(result["ciede2000"][0]))


def report(results: list[dict]) -> str:
    """The tables and the round's rule: admissible = harm at most half of global's, K = 3 ratio under 0.75,
    K = 10 ratio not worse than global's beyond the spread; among them the lowest mean ratio over
    K = 1, 3, 5, 10; none admissible: the lowest harm among those whose K = 10 is not worse."""
    by_name = {r["name"]: r for r in results}
    base = by_name["global"]
    n = len(base["harm"])
    counts = boot_counts(n)
    fmt = lambda t, p=3: f"{t[0]:.{p}f} [{t[1]:.{p}f}, {t[2]:.{p}f}]"  # noqa: E731
    lines = [f"{n} photos. Harm: share of pixels more than {HARM_DELTA:g} CIEDE2000 worse after one true-colour hint "
             "(mean over photos, 95% bootstrap). Ratios: mean CIEDE2000 at K over K = 0.", "",
             "| propagation | harm | K = 0 | ratio K = 1 | K = 3 | K = 5 | K = 10 | K = 10 minus global's | mean ratio | admissible |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    base_harm = float(np.mean(base["harm"]))
    rows = []
    for r in results:
        harm = interval(np.asarray(r["harm"]))
        ratios = {k: ratio(r, k, counts) for k in COUNTS[1:]}
        point = {k: float(np.mean(r["ciede2000"][k]) / np.mean(r["ciede2000"][0])) for k in COUNTS[1:]}
        diff10 = ratios[10] - ratio(base, 10, counts)
        d10 = (point[10] - float(np.mean(base["ciede2000"][10]) / np.mean(base["ciede2000"][0])),
               float(np.percentile(diff10, 2.5)), float(np.percentile(diff10, 97.5)))
        k10_ok = d10[1] <= 0
        ok = harm[0] <= 0.5 * base_harm and point[3] < 0.75 and k10_ok
        mean_ratio = float(np.mean(list(point.values())))
        rows.append((r["name"], harm[0], k10_ok, ok, mean_ratio))
        cells = " | ".join(f"{point[k]:.3f} [{np.percentile(ratios[k], 2.5):.3f}, {np.percentile(ratios[k], 97.5):.3f}]"
                           for k in COUNTS[1:])
        lines.append(f"| {r['name']} | {fmt(harm)} | {np.mean(r['ciede2000'][0]):.2f} | {cells} | {fmt(d10)} | "
                     f"{mean_ratio:.3f} | {'yes' if ok else 'no'} |")
    admissible = [row for row in rows if row[3]]
    if admissible:
        chosen = min(admissible, key=lambda row: row[4])
        why = "admissible, lowest mean ratio"
    else:
        kept = [row for row in rows if row[2]]
        chosen = min(kept, key=lambda row: row[1])
        why = "none admissible: the lowest harm among those whose K = 10 is not worse"
    lines += ["", f"Global's harm: {base_harm:.4f}; half of it: {0.5 * base_harm:.4f}.",
              f"Chosen: **{chosen[0]}** ({why})."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="Data/Clean Data")
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    parser.add_argument("--harm-draws", type=int, default=8)
    parser.add_argument("--max-photos", type=int)
    parser.add_argument("--only", action="append", help="score only these candidates (repeatable)")
    for key, values in GRID.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=float, nargs="+", default=list(values),
                            help=f"the geodesic grid's values (default {' '.join(f'{v:g}' for v in values)})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="sweeps of the geodesic distances (default 2, as the runs)")
    parser.add_argument("--out", help="write the per-photo numbers (JSON) here")
    parser.add_argument("--report", nargs="+", metavar="JSON", help="only print the tables of earlier --out files")
    args = parser.parse_args()
    if args.report:
        results = [r for path in args.report for r in json.loads(Path(path).read_text())]
        print(report(results))
        return 0
    model = args.model or str(default_model_path())
    grid = {key: tuple(getattr(args, key)) for key in GRID}
    chosen = {k: v for k, v in candidates(grid, args.rounds).items() if not args.only or k in args.only}
    jobs = [(name, config, args.data, args.split, model, args.harm_draws, args.max_photos)
            for name, config in chosen.items()]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(score, jobs))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results))
    print(report(results) if any(r["name"] == "global" for r in results) else "(no global: no table)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
