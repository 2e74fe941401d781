"""What issue 12's targets ask for: colourisers that know the true colours, degraded on purpose, scored
exactly as ``quality_benchmark.py`` scores a model.

Each oracle keeps the photo's own L* and takes its a*b* from the truth: averaged over a grid of G x G blocks
(G = 16, 8, 4, 2, 1: the true colour layout at that resolution, smoothly interpolated), or with its chroma
scaled (0.75, 0.5: the true hues, duller). ``--model NAME=PATH`` adds a trained model with its a*b* scaled
by each ``--gain`` (how much accuracy a model trades for colour). The table says which of the issue's
targets against the grayscale input each row meets (FID and KID at most 3/4 of the grayscale input's,
CIEDE2000 below and PSNR above it, colourfulness at least 75% of the truth's), so the rows show how well a
colouriser must know the true colours before it can meet them.

    python studies/target_calibration/target_calibration.py --data "Data/Clean Data" --split test \\
        --model default=src/chromatic_charm/assets/generator.onnx --markdown studies/target_calibration/table.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # quality_benchmark
from quality_benchmark import (GRAY, check_targets, colorize_all, features, gray_of, load_photos,  # noqa: E402
                               score, tensor, views, write_outputs)

from chromatic_charm import color  # noqa: E402
from chromatic_charm.metrics import colourfulness, load_feature_network  # noqa: E402

GRIDS = (16, 8, 4, 2, 1)
SCALES = (0.75, 0.5)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) sRGB -> float32 (H, W, 3) L*a*b*."""
    return color.rgb_to_lab(rgb.astype(np.float32) / 255).astype(np.float32)


def to_rgb8(lab: np.ndarray) -> np.ndarray:
    """float (H, W, 3) L*a*b* -> uint8 sRGB, out-of-gamut colours clipped as the API clips them."""
    return np.clip(np.round(color.lab_to_rgb(lab.astype(np.float32)) * 255), 0, 255).astype(np.uint8)


def block_average(ab: np.ndarray, grid: int) -> np.ndarray:
    """a*b* (H, W, 2) averaged over grid x grid blocks, then bilinearly back to (H, W, 2)."""
    h, w = ab.shape[:2]
    out = []
    for c in range(2):
        channel = Image.fromarray(np.ascontiguousarray(ab[..., c]), "F")
        small = channel.resize((grid, grid), Image.Resampling.BOX)
        out.append(np.asarray(small.resize((w, h), Image.Resampling.BILINEAR)))
    return np.stack(out, -1)


def with_ab(lab: np.ndarray, ab: np.ndarray) -> np.ndarray:
    return to_rgb8(np.concatenate([lab[..., :1], ab], -1))


def oracles(real: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    labs = [to_lab(r) for r in real]
    rows = {f"true colours on a {g}x{g} grid": [with_ab(lab, block_average(lab[..., 1:], g)) for lab in labs]
            for g in GRIDS}
    rows.update({f"true colours, chroma x{s}": [with_ab(lab, s * lab[..., 1:]) for lab in labs] for s in SCALES})
    return rows


def targets_met(m: dict, gray: dict, truth_colour: float) -> str:
    """The issue's targets against the grayscale input (quality_benchmark.check_targets), in a few words."""
    checks = check_targets({GRAY: gray, "truth": {"colourfulness": truth_colour}, "row": m}, "row")
    missed = ([] if "fid" in m else ["FID", "KID"]) + [
        "colour" if what.startswith("colourfulness") else what.split()[0] for what, ok in checks if not ok]
    return "all" if not missed else "misses " + ", ".join(missed)


def markdown(rows: dict, truth_colour: float, header: str) -> str:
    gray = rows[GRAY]
    lines = [header, "", "| colouriser | FID | KID | colourfulness | CIEDE2000 | PSNR (dB) | targets |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for name, m in rows.items():
        fid = f"{m['fid']:.1f}" if "fid" in m else "n/a"
        kid = f"{m['kid']:.4f}" if "kid" in m else "n/a"
        met = "-" if name == GRAY else targets_met(m, gray, truth_colour)
        lines.append(f"| {name} | {fid} | {kid} | {m['colourfulness']:.1f} | {m['ciede2000']:.2f} | "
                     f"{m['psnr']:.2f} | {met} |")
    lines.append(f"| ground truth | 0 | 0 | {truth_colour:.1f} | 0 | inf | - |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="Data/Clean Data", help="prepared data (default 'Data/Clean Data')")
    p.add_argument("--split", default="test")
    p.add_argument("--photos", help="a folder of colour photos instead of a prepared split")
    p.add_argument("--max-photos", type=int, default=None)
    p.add_argument("--max-side", type=int, default=512, help="photos from --photos are shrunk to this (default 512)")
    p.add_argument("--crops", type=int, default=5, help="views a photo (default 5, as quality_benchmark.py)")
    p.add_argument("--model", action="append", default=[], metavar="NAME=PATH.onnx", help="repeatable")
    p.add_argument("--gain", type=float, action="append", metavar="K",
                   help="scale each model's a*b* by K, repeatable (default 0.5, 1 and 1.5)")
    p.add_argument("--no-fid", action="store_true")
    p.add_argument("--markdown", help="write the table to this file")
    p.add_argument("--json", help="write every number to this file")
    args = p.parse_args(argv)
    models = dict(m.split("=", 1) for m in args.model)
    for name, path in models.items():
        if not Path(path).is_file():
            sys.exit(f"error: --model {name}: no file '{path}'")
    gains = args.gain or [0.5, 1.0, 1.5]

    photos, source = load_photos(args)
    real = [v for photo in photos for v in views(photo, args.crops)]
    grays = [gray_of(v) for v in real]
    network = None if args.no_fid else load_feature_network()
    real_features = features(network, real) if network is not None else None
    candidates = {GRAY: [np.stack([g] * 3, -1) for g in grays], **oracles(real)}
    for name, path in models.items():
        out, _ = colorize_all(path, grays, in_process=True)
        labs = [to_lab(o) for o in out]
        for k in gains:
            candidates[f"{name}, a*b* x{k:g}"] = out if k == 1 else [with_ab(lab, k * lab[..., 1:]) for lab in labs]
    rows = {}
    for name, images in candidates.items():
        rows[name], _ = score(real, images, real_features, network)
        print(f"scored: {name}", flush=True)
    truth_colour = float(np.mean([float(colourfulness(tensor([r]).float() / 255)) for r in real]))

    header = (f"N = {len(real)} images ({len(photos)} photos x {args.crops} views) of {source}; FID network: "
              f"{network.description if network else 'not computed'}; targets: FID and KID <= 3/4 of the "
              f"grayscale input's, CIEDE2000 below and PSNR above it, colourfulness >= 75% of the truth's")
    text = markdown(rows, truth_colour, header)
    write_outputs(args, text, {"rows": rows, "truth_colourfulness": truth_colour, "source": source,
                               "photos": len(photos), "views": args.crops, "models": models})
    return 0


if __name__ == "__main__":
    sys.exit(main())
