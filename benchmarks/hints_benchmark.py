"""Colour hints through the API, as a user sends them: the K curve, the harm of one hint, and the latency.

Each test photo is turned gray and posted to ``POST /colorize`` of a real gunicorn server with K hints:
K pixels drawn at random (fixed seed per photo and K), each with its true colour (1 px, radius 0). What
comes back is compared with the true photo: mean CIEDE2000, PSNR and colourfulness for K = 0, 1, 3, 5, 10, 20,
with 95% bootstrap intervals over photos, and the ratio of K = 10's CIEDE2000 to K = 0's (issue 24's
target: at most 0.6). The harm (issue 34): one hint of the true colour at a random pixel (``--harm-draws``
draws a photo), and the share of the photo's pixels whose CIEDE2000 to the truth grows by more than 2 over
the result without hints; a true colour should hurt almost nothing. Then latency: p50 and p90 of
``/colorize`` at 256x256 with no hints and with 10 and 256 hints, interleaved, in one run (ratios are
what to compare across machines).

    python benchmarks/hints_benchmark.py --data "Data/Clean Data" --split test --markdown outputs/hints.md \\
        --grid outputs/hints_grid.jpg
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import requests
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402
from api_benchmark import start_server  # noqa: E402

from chromatic_charm import color, stats  # noqa: E402
from chromatic_charm.reporting import random_hints  # noqa: E402
from chromatic_charm.files import write_text_atomic  # noqa: E402
from chromatic_charm.metrics import ciede2000, colourfulness, psnr_ssim_per_image  # noqa: E402

COUNTS = (0, 1, 3, 5, 10, 20)
SEED = 2024
HARM_SEED = 7000
HARM_DELTA = 2.0  # CIEDE2000 units


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def colorize(url: str, gray: bytes, hints: list[dict]) -> tuple[np.ndarray, float]:
    began = time.perf_counter()
    data = {"hints": json.dumps(hints)} if hints else None
    response = requests.post(f"{url}/colorize", files={"image": ("photo.png", gray, "image/png")}, data=data,
                             timeout=60)
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        sys.exit(f"error: /colorize answered {response.status_code}: {response.text[:200]}")
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")), elapsed


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255


def scores(result: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    fake, real = as_tensor(result), as_tensor(truth)
    lab_fake = color.rgb_to_lab(result.astype(np.float32) / 255)
    lab_real = color.rgb_to_lab(truth.astype(np.float32) / 255)
    return {"ciede2000": float(ciede2000(lab_fake, lab_real).mean()),
            "psnr": float(psnr_ssim_per_image(fake, real)[0][0]),
            "colourfulness": float(colourfulness(fake)[0])}


def contact_sheet(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]], path: Path, side: int = 160) -> None:
    """Per photo: gray input | 0 hints | 10 hints (points marked) | truth."""
    sheet = Image.new("RGB", (4 * side + 5 * 4, len(rows) * (side + 4) + 4), "white")
    for r, (truth, plain, hinted, hints) in enumerate(rows):
        scale = side / max(truth.shape[:2])
        gray = np.repeat(np.asarray(Image.fromarray(truth).convert("L"))[..., None], 3, axis=-1)
        for c, image in enumerate((gray, plain, hinted, truth)):
            tile = Image.fromarray(image).resize((round(image.shape[1] * scale), round(image.shape[0] * scale)))
            if c == 2:
                draw = ImageDraw.Draw(tile)
                for hint in hints:
                    x, y = hint["x"] * scale, hint["y"] * scale
                    draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=hint["color"], outline="white", width=2)
            sheet.paste(tile, (4 + c * (side + 4), 4 + r * (side + 4)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=88)


def plot_curve(rows: list[dict], path: Path) -> None:
    """CIEDE2000 (and its ratio to K = 0) and PSNR against K, with the 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [r["K"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, metric, label in ((axes[0], "ciede2000", "mean CIEDE2000 (lower is better)"),
                              (axes[1], "psnr", "PSNR, dB (higher is better)")):
        mean = [r[metric]["mean"] for r in rows]
        ax.fill_between(ks, [r[metric]["low"] for r in rows], [r[metric]["high"] for r in rows], alpha=0.25)
        ax.plot(ks, mean, marker="o")
        ax.set_xlabel("hints K (random pixels with their true colours)")
        ax.set_title(label, fontsize=10)
        ax.set_xticks(ks)
        ax.grid(alpha=0.3)
    axes[0].axhline(0.6 * rows[0]["ciede2000"]["mean"], color="gray", linestyle="--", linewidth=1)
    axes[0].text(ks[-1], 0.6 * rows[0]["ciede2000"]["mean"], "60% of K = 0", ha="right", va="bottom", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency(url: str, repeats: int, photo: np.ndarray) -> dict[str, dict[str, float]]:
    """``photo`` at 256x256 with 0, 10 and 256 hints, and at 1024x1024 (1 MP, what the web page re-sends on
    each change) with 0 and 10."""
    small = np.asarray(Image.fromarray(photo).resize((256, 256)))
    large = np.asarray(Image.fromarray(photo).resize((1024, 1024), Image.Resampling.BICUBIC))
    gray = {side: png(np.asarray(Image.fromarray(p).convert("L"))) for side, p in ((256, small), (1024, large))}
    cases = {"none": (256, []), "10": (256, random_hints(small, 10, 1)), "256 (the limit)": (256, random_hints(small, 256, 2)),
             "none, 1 MP": (1024, []), "10, 1 MP": (1024, random_hints(large, 10, 3))}
    times = {name: [] for name in cases}
    for name, (side, hints) in cases.items():  # warm-up
        colorize(url, gray[side], hints)
    for _ in range(repeats):  # interleaved, so drift hits every case alike
        for name, (side, hints) in cases.items():
            times[name].append(colorize(url, gray[side], hints)[1] * 1000)
    return {name: {"p50_ms": float(np.percentile(t, 50)), "p90_ms": float(np.percentile(t, 90))}
            for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="Data/Clean Data")
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", help="ONNX model (default: the shipped one)")
    parser.add_argument("--max-photos", type=int)
    parser.add_argument("--harm-draws", type=int, default=8, help="one-hint posts a photo for the harm (default 8)")
    parser.add_argument("--repeats", type=int, default=40, help="latency requests per case (default 40)")
    parser.add_argument("--markdown", help="write the tables here")
    parser.add_argument("--json", help="write the numbers here")
    parser.add_argument("--grid", help="write the contact sheet (0 and 10 hints) here")
    parser.add_argument("--grid-photos", type=int, default=6)
    parser.add_argument("--curve", help="write the K curve (PNG) here")
    parser.add_argument("--curve-from", metavar="JSON", help="only draw --curve from an earlier run's --json")
    args = parser.parse_args()
    if args.curve_from:
        plot_curve(json.loads(Path(args.curve_from).read_text())["rows"], Path(args.curve or "hints_curve.png"))
        return 0
    photos = np.load(Path(args.data) / f"{args.split}.npy", mmap_mode="r")[: args.max_photos]
    proc, url = start_server(args.model)
    try:
        model = requests.get(f"{url}/model", timeout=10).json()
        if not model.get("hints"):
            sys.exit("error: the served model takes no hints; give it some with `chromatic-charm export --add-hints`")
        per_photo = {k: {"ciede2000": [], "psnr": [], "colourfulness": []} for k in COUNTS}
        harm = []
        grid_rows = []
        for i, truth in enumerate(photos):
            truth = np.ascontiguousarray(truth)
            gray = png(np.asarray(Image.fromarray(truth).convert("L")))
            results = {}
            for k in COUNTS:
                hints = random_hints(truth, k, SEED + 1000 * i + k)
                results[k], _ = colorize(url, gray, hints)
                for name, value in scores(results[k], truth).items():
                    per_photo[k][name].append(value)
                if k == 10 and i < args.grid_photos:
                    grid_rows.append((truth, results[0], results[10], hints))
            real = color.rgb_to_lab(truth.astype(np.float32) / 255)
            plain = ciede2000(color.rgb_to_lab(results[0].astype(np.float32) / 255), real)
            shares = []
            for d in range(args.harm_draws):
                hinted, _ = colorize(url, gray, random_hints(truth, 1, HARM_SEED + 100 * i + d))
                worse = ciede2000(color.rgb_to_lab(hinted.astype(np.float32) / 255), real) - plain
                shares.append(float((worse > HARM_DELTA).mean()))
            if shares:
                harm.append(float(np.mean(shares)))
            print(f"\r{i + 1}/{len(photos)} photos", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        timing = latency(url, args.repeats, np.ascontiguousarray(photos[0]))
    finally:
        proc.terminate()
        proc.wait(10)
    base = np.asarray(per_photo[0]["ciede2000"])
    rows = []
    for k in COUNTS:
        row = {"K": k}
        for name, values in per_photo[k].items():
            iv = stats.bootstrap_interval(np.asarray(values))
            row[name] = {"mean": iv.value, "low": iv.low, "high": iv.high}
        ratio = np.asarray(per_photo[k]["ciede2000"]) / base
        counts = np.random.default_rng(0).multinomial(len(base), np.full(len(base), 1 / len(base)), size=2000)
        boot = (counts @ np.asarray(per_photo[k]["ciede2000"])) / (counts @ base)
        row["ciede2000_ratio"] = {"mean": float(np.mean(per_photo[k]["ciede2000"]) / base.mean()),
                                  "low": float(np.percentile(boot, 2.5)), "high": float(np.percentile(boot, 97.5))}
        row["photos_improved"] = int((ratio < 1).sum())
        rows.append(row)
    lines = [f"Hints through the API ({model.get('name')}, run {model.get('run_id')}), {args.split} split: "
             f"{len(photos)} photos, each posted gray at 256 px with K random pixels' true colours (1 px). "
             "Means with 95% bootstrap intervals over photos.", "",
             "| K | CIEDE2000 | ratio to K = 0 | PSNR (dB) | colourfulness | photos better than K = 0 |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    fmt = lambda v, p=2: f"{v['mean']:.{p}f} [{v['low']:.{p}f}, {v['high']:.{p}f}]"  # noqa: E731
    for row in rows:
        lines.append(f"| {row['K']} | {fmt(row['ciede2000'])} | {fmt(row['ciede2000_ratio'])} | {fmt(row['psnr'])} | "
                     f"{fmt(row['colourfulness'], 1)} | {row['photos_improved'] if row['K'] else '-'} |")
    truth_colour = float(np.mean([float(colourfulness(as_tensor(p))[0]) for p in photos]))
    lines += ["", f"Colourfulness of the true photos: {truth_colour:.1f}."]
    harm_row = None
    if harm:
        iv = stats.bootstrap_interval(np.asarray(harm))
        harm_row = {"mean": iv.value, "low": iv.low, "high": iv.high, "draws": args.harm_draws}
        lines += ["", f"Harm of one true-colour hint at a random pixel ({args.harm_draws} draws a photo): "
                      f"{100 * iv.value:.2f}% [{100 * iv.low:.2f}, {100 * iv.high:.2f}] of a photo's pixels more than "
                      f"{HARM_DELTA:g} CIEDE2000 worse than without it (mean over photos, 95% bootstrap)."]
    lines += ["",
              "Latency of `POST /colorize` (the first test photo, gray; one client, interleaved requests):", "",
              "| hints | p50 (ms) | p90 (ms) | p50 / none at that size |", "| --- | ---: | ---: | ---: |"]
    for name, t in timing.items():
        reference = timing["none, 1 MP" if "1 MP" in name else "none"]["p50_ms"]
        lines.append(f"| {name} | {t['p50_ms']:.1f} | {t['p90_ms']:.1f} | {t['p50_ms'] / reference:.2f} |")
    machine = describe()
    lines += ["", f"Machine: {machine}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        write_text_atomic(Path(args.markdown), text)
    if args.json:
        write_text_atomic(Path(args.json), json.dumps({"rows": rows, "harm": harm_row, "per_photo_harm": harm,
                                                       "latency": timing, "machine": machine,
                                                       "model": model, "per_photo": per_photo}, indent=1))
    if args.grid:
        contact_sheet(grid_rows, Path(args.grid))
    if args.curve:
        plot_curve(rows, Path(args.curve))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
