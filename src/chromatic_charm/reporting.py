"""The tracked runs for the notebooks and the report: the lr_G/lr_D table, loss curves, the pipeline's
choice and sample colourisations, all read from MLflow and from the files the pipeline wrote.

FID appears only where it was computed; otherwise the table says why (the run's ``test_fid_status``
tag). Nothing is ever filled in by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import color
from .config import project_root
from .errors import UserError

LOSSES = ("loss_D_real", "loss_D_fake", "loss_G_GAN", "loss_G_L1")
METRICS = ("val_l1", "val_fid", "test_fid", "test_kid", "test_kid_std", "test_ciede2000", "test_psnr", "test_ssim",
           "test_colourfulness", "test_colourfulness_real", "test_images", "test_crops")
BASELINES = ("fid_baseline_gray", "kid_baseline_gray", "fid_baseline_real_halves", "kid_baseline_real_halves")


def runs_frame(experiment: str, run_ids=None, split: str = "test"):
    """One row per finished run of ``experiment`` (or just ``run_ids``): name, lr_G, lr_D, lambda_L1, seed,
    epochs, model size, validation L1 and the evaluation metrics with N (``images``) and views a photo (``crops``); FID
    and KID are NaN where they were not computed, with the reason in ``fid_status`` and the network in
    ``fid_network``. Sorted by FID, else by CIEDE2000. Compare rows only at equal N and crops."""
    import pandas as pd

    from . import tracking

    runs = tracking.finished_runs(experiment, run_ids)
    rows = []
    for run in runs:
        p, m, t = run.data.params, run.data.metrics, run.data.tags
        row = {"run": run.info.run_name, "run_id": run.info.run_id, "lr_G": float(p["lr_g"]),
               "lr_D": float(p["lr_d"]), "lambda_l1": float(p.get("lambda_l1", math.nan)), "seed": int(p.get("seed", 0)),
               "epochs": int(p.get("epochs", 0)), "model_size": p.get("model_size"),
               "image_size": int(p.get("image_size", 0))}
        for key in METRICS:
            name = key.replace("test_", f"{split}_")
            row[key.replace("test_", "")] = m.get(name, math.nan)
        row["fid_status"] = t.get(f"{split}_fid_status", "not evaluated")
        row["fid_network"] = t.get(f"{split}_fid_network", "")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["fid", "ciede2000", "val_l1"], na_position="last").reset_index(drop=True)


def baselines_frame(evaluation: dict, split: str = "test"):
    """The reference rows of one evaluation (``evaluate --metrics-out``'s file): FID and KID of the
    grayscale input and of real against real (two halves of the photos), with N; empty without FID."""
    import pandas as pd

    m = evaluation["metrics"]
    rows = []
    for label, key in (("grayscale input", "baseline_gray"), ("real vs real (two halves)", "baseline_real_halves")):
        if f"{split}_fid_{key}" in m:
            rows.append({"reference": label, "fid": m[f"{split}_fid_{key}"], "kid": m[f"{split}_kid_{key}"],
                         "kid_std": m[f"{split}_kid_{key}_std"],
                         "images": m[f"{split}_images"] // (2 if "halves" in key else 1)})
    return pd.DataFrame(rows)


def loss_history(run_id: str, keys=(*LOSSES, "val_l1")):
    """Every logged value of ``keys`` for a run: DataFrame indexed by step, one column per key."""
    import pandas as pd

    from . import tracking

    series = {key: pd.Series(dict(history), name=key)
              for key, history in tracking.metric_history(run_id, keys).items()}
    if not series:
        raise UserError(f"run {run_id} has none of {', '.join(keys)}")
    return pd.DataFrame(series).sort_index()


def plot_losses(histories: dict, smooth: int = 20, titles: dict | None = None, xlabel: str = "step"):
    """Losses of several runs: ``histories`` maps a label to ``loss_history(...)``. Five panels on two rows
    (readable at a page's width), the legend in the sixth. Step losses are shown as a rolling mean over
    ``smooth`` steps; val L1 per epoch as dots. ``titles`` maps a metric to its panel's title (default: the
    metric's name)."""
    import matplotlib.pyplot as plt

    keys = [*LOSSES, "val_l1"]
    fig, grid = plt.subplots(2, 3, figsize=(10.0, 5.6))
    axes, legend_ax = list(grid.flat[:len(keys)]), grid.flat[-1]
    lines = {}
    for label, frame in histories.items():
        for ax, key in zip(axes, keys):
            if key not in frame:
                continue
            values = frame[key].dropna()
            if key == "val_l1":
                (line,) = ax.plot(values.index, values.values, "o-", ms=3, label=label)
            else:
                (line,) = ax.plot(values.index, values.rolling(smooth, min_periods=1).mean().values, label=label)
            lines.setdefault(label, line)
    for ax, key in zip(axes, keys):
        ax.set_title((titles or {}).get(key, key), fontsize=12)
        ax.set_xlabel(xlabel, fontsize=11)
        ax.tick_params(labelsize=10)
        ax.grid(alpha=0.3)
    legend_ax.set_axis_off()
    legend_ax.legend(list(lines.values()), list(lines), loc="center", fontsize=10, frameon=False)
    fig.tight_layout()
    return fig


def pipeline_results(root: str | Path | None = None) -> dict:
    """What the DVC pipeline recorded: params.yaml, metrics/evaluation/*.json (the adversarial runs on the test
    split), metrics/validation/*.json (the same runs on the validation split, which select ranks; {} for a
    pipeline from before it), metrics/control/*.json (the L1 model trained on L1 alone as long as the
    adversarial runs: their control; {} without it), metrics/baseline/*.json (the L1-only run, when there is one), metrics/champion.json and the exported
    model's metadata (the package's shipped model). Missing pieces raise, saying which stage makes them."""
    import yaml

    root = Path(root) if root else project_root()
    params_file = root / "params.yaml"
    evaluations = sorted((root / "metrics" / "evaluation").glob("*.json"))
    validations = sorted((root / "metrics" / "validation").glob("*.json"))
    controls = sorted((root / "metrics" / "control").glob("*.json"))
    baselines = sorted((root / "metrics" / "baseline").glob("*.json"))
    champion = root / "metrics" / "champion.json"
    model_meta = root / "src" / "chromatic_charm" / "assets" / "generator.json"
    for path, stage in ((params_file, "params.yaml"), (champion, "select"), (model_meta, "export")):
        if not path.is_file():
            raise UserError(f"'{path}' is missing: run `dvc repro` (stage {stage}) in {root}")
    if not evaluations:
        raise UserError(f"no metrics/evaluation/*.json in {root}: run `dvc repro` (stage evaluate)")
    return {"params": yaml.safe_load(params_file.read_text()),
            "evaluations": {p.stem: json.loads(p.read_text()) for p in evaluations},
            "validations": {p.stem: json.loads(p.read_text()) for p in validations},
            "controls": {p.stem: json.loads(p.read_text()) for p in controls},
            "baselines": {p.stem: json.loads(p.read_text()) for p in baselines},
            "champion": json.loads(champion.read_text()),
            "model": json.loads(model_meta.read_text()),
            "model_path": model_meta.with_suffix(".onnx")}


def colourise_examples(model_path: str | Path, images: np.ndarray):
    """Gray input, colourisation and truth for (N, H, W, 3) uint8 images, through the one inference
    path (ONNX Runtime, as served): returns a list of 3N images for ``analysis.image_grid``."""
    from .inference import Colorizer

    colorizer = Colorizer(Path(model_path))
    out = []
    for rgb in np.asarray(images):
        gray = np.asarray(color.lab_to_rgb(_gray_lab(rgb)) * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        out += [gray, colorizer.colorize_rgb(gray), rgb]
    return out


def closeup_example(model_path: str | Path, rgb: np.ndarray, scale: int = 3) -> dict:
    """A photo whole and as a close-up, through the one inference path: the close-up is the middle tile of
    its ``scale`` x ``scale`` tiles (``views.tiles``, as evaluation cuts them), colourised on its own at its
    own size, as a user's crop would be. Returns {"whole": [gray, colour, truth], "closeup": [...], "box":
    (top, left, height, width), "ciede2000": {"whole": (model, gray), "closeup": (model, gray)}}: each
    mean CIEDE2000 to the truth, of the colourisation and of the gray input."""
    from .inference import Colorizer
    from .metrics import ciede2000
    from .views import tiles

    colorizer = Colorizer(Path(model_path))
    top, left, h, w, _ = tiles(*rgb.shape[:2], scale)[scale * scale // 2]
    out = {"box": (top, left, h, w), "ciede2000": {}}
    for name, truth in (("whole", np.asarray(rgb)), ("closeup", np.ascontiguousarray(rgb[top:top + h, left:left + w]))):
        gray_lab = _gray_lab(truth)
        gray = np.asarray(color.lab_to_rgb(gray_lab) * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        colour = colorizer.colorize_rgb(gray)
        true_lab = color.rgb_to_lab(truth.astype(np.float32) / 255.0)
        score = lambda image: float(ciede2000(color.rgb_to_lab(image.astype(np.float32) / 255.0), true_lab).mean())  # noqa: E731
        out[name] = [gray, colour, truth]
        out["ciede2000"][name] = (score(colour), score(gray))
    return out


HINT_EXAMPLE_POINTS = 10  # the report's and the deck's example of colour hints


def random_hints(rgb: np.ndarray, points: int = HINT_EXAMPLE_POINTS, seed: int = 0) -> list[dict]:
    """``points`` random pixels of a uint8 (H, W, 3) photo with their true colours, as ``POST /colorize``
    takes them: the report's and the deck's example of hints, and the hints of
    ``benchmarks/hints_benchmark.py``."""
    rng = np.random.default_rng(seed)
    ys, xs = rng.integers(0, rgb.shape[0], points), rng.integers(0, rgb.shape[1], points)
    return [{"x": int(x), "y": int(y), "color": "#{:02x}{:02x}{:02x}".format(*rgb[y, x])} for x, y in zip(xs, ys)]


def mark_hints(rgb: np.ndarray, hints: list[dict]) -> np.ndarray:
    """A copy of ``rgb`` with a white ring around each hint, sized to the photo (about 1/60 of its width)."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.asarray(rgb, np.uint8))
    draw = ImageDraw.Draw(image)
    r, width = max(4, round(image.width / 60)), max(2, round(image.width / 250))
    for h in hints:
        draw.ellipse((h["x"] - r, h["y"] - r, h["x"] + r, h["y"] + r), outline="white", width=width)
    return np.asarray(image)


def _gray_lab(rgb: np.ndarray) -> np.ndarray:
    lab = color.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    lab[..., 1:] = 0
    return lab


def dvc_lock_hash(root: str | Path | None = None) -> str | None:
    """What names one pipeline run, for the notebooks to show: a short hash of ``dvc.lock`` (every
    stage's inputs and outputs); ``None`` before the first ``dvc repro``."""
    import hashlib

    lock = (Path(root) if root else project_root()) / "dvc.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:12] if lock.is_file() else None


def run_metrics(run_id: str) -> dict:
    """The last value of every metric a run logged (its evaluation included), for ``baselines_frame``:
    ``baselines_frame({"metrics": run_metrics(run_id)})``."""
    from . import tracking

    return dict(tracking.get_run(run_id).data.metrics)
