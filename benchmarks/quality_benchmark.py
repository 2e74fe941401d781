"""How good the colours are, measured through the API as a user gets them.

Each test photo is turned gray and posted to ``POST /colorize`` of a real gunicorn serving each model (or,
with ``--in-process``, given to the same inference path without a server); what comes back is compared
with the photo's true colours. Every photo is seen as several views (the whole photo, then its four corner
crops of 3/4 of the side, then mirror images), each posted at its own size, so FID and KID get more
samples: N = photos x views, the same N for every row. The grayscale input itself is the first row: the
do-nothing colouriser every model must beat.

Metrics: FID and KID (the FID paper's Inception, chromatic_charm.metrics), colourfulness (Hasler and
Suesstrunk; the truth's beside it), CIEDE2000 and PSNR/SSIM against the truth.

At several scales too (``--scales``, default 1,2,3; chromatic_charm.views): each photo is also cut into
k x k tiles of 1/k of its side, each tile posted at its own size, so close-ups and crops are scored as a
user would send them. CIEDE2000, PSNR and colourfulness per scale and for the mean of the scales, each
against the grayscale input (and any ``--baseline``) with bootstrap intervals over photos.
``--choose-scales REFERENCE`` applies issue 33's rule (studies/encoder/README.md, round 5): among the models
whose KID and whole-photo CIEDE2000 are not worse than REFERENCE's beyond the spread, those that beat the
grayscale input at every scale first, then the lowest worst scale.

    python benchmarks/quality_benchmark.py --data "Data/Clean Data" --split test \\
        --model old=old.onnx --model new=src/chromatic_charm/assets/generator.onnx --targets new \\
        --markdown docs/quality.md --grid docs/images/quality_grid.jpg
    python benchmarks/quality_benchmark.py --photos ~/my-photos --model default=src/chromatic_charm/assets/generator.onnx

``--targets NAME`` checks issue 12's targets for that model (FID and KID at most 3/4 of the grayscale
input's, CIEDE2000 lower and PSNR higher than it, colourfulness at least 75% of the truth's, and better than
every other model on all of these) and exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
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
from chromatic_charm.files import write_text_atomic  # noqa: E402
from chromatic_charm.config import EVAL_SCALES, IMAGE_EXTENSIONS, MAX_EVAL_CROPS  # noqa: E402
from chromatic_charm.images import to_rgb  # noqa: E402
from chromatic_charm.views import (corner_views, describe_scale, paired_by_scale, parse_scales,  # noqa: E402
                                   scale_summary, tiles)
from chromatic_charm.metrics import (ciede2000, colourfulness, distances, load_feature_network,  # noqa: E402
                                     psnr_ssim_per_image)

GRAY = "grayscale input"


def load_photos(args) -> tuple[list[np.ndarray], str]:
    """uint8 RGB photos (H, W, 3), at most ``--max-side`` pixels on a side, and where they came from."""
    if args.photos:
        files = sorted(p for p in Path(args.photos).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            sys.exit(f"error: no photos under '{args.photos}'")
        photos = []
        for f in files[: args.max_photos]:
            image, _ = to_rgb(Image.open(f))
            if args.max_side:
                image.thumbnail((args.max_side, args.max_side), Image.Resampling.LANCZOS)
            photos.append(np.asarray(image))
        return photos, f"{len(photos)} photos from {args.photos}"
    array = Path(args.data) / f"{args.split}.npy"
    if not array.is_file():
        sys.exit(f"error: no '{array}'; run `chromatic-charm prepare` first, or pass --photos DIR")
    photos = list(np.load(array, mmap_mode="r")[: args.max_photos])
    return [np.ascontiguousarray(p) for p in photos], f"{len(photos)} photos of the {args.split} split of {args.data}"


def cut(photo: np.ndarray, boxes) -> list[np.ndarray]:
    """The views of ``photo`` in ``boxes`` (chromatic_charm.views: top, left, height, width, mirrored)."""
    return [np.ascontiguousarray(photo[t:t + h, l:l + w][:, ::-1] if mirrored else photo[t:t + h, l:l + w])
            for t, l, h, w, mirrored in boxes]


def views(photo: np.ndarray, crops: int) -> list[np.ndarray]:
    """The whole photo, its four corner crops of EVAL_CROP_FRACTION of each side, then mirror images."""
    return cut(photo, corner_views(*photo.shape[:2], crops))


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """The 8-bit grayscale photo a user would post: the sRGB gray of each pixel's L* (H, W) uint8."""
    lightness = color.srgb8_to_lightness(rgb)
    gray = color.lightness_to_gray(color.normalize_l(lightness.astype(np.float32)))
    return np.round(gray * 255).astype(np.uint8)


def png(array: np.ndarray) -> bytes:
    data = io.BytesIO()
    Image.fromarray(array).save(data, "PNG")
    return data.getvalue()


def colorize_all(model: str, grays: list[np.ndarray], in_process: bool) -> tuple[list[np.ndarray], dict]:
    """Every gray view through the model; (colour views, timing)."""
    start = time.perf_counter()
    if in_process:
        from chromatic_charm.inference import Colorizer, open_image

        colorizer = Colorizer(model)
        out = [np.asarray(colorizer.colorize_image(open_image(png(g)))) for g in grays]
        return out, {"seconds": time.perf_counter() - start, "via": "in process"}
    proc, url = start_server(model)
    try:
        session, out = requests.Session(), []
        for g in grays:
            response = session.post(f"{url}/colorize", data=png(g), headers={"Content-Type": "image/png"}, timeout=120)
            response.raise_for_status()
            out.append(np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return out, {"seconds": time.perf_counter() - start, "via": "POST /colorize, gunicorn on 127.0.0.1"}


def tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


def by_size(images: list[np.ndarray]) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    return groups


def features(network, images: list[np.ndarray]) -> torch.Tensor:
    out = torch.zeros(len(images), 2048)
    for _, idx in by_size(images).items():
        out[idx] = network(tensor([images[i] for i in idx]))
    return out


PER_IMAGE = ("colourfulness", "ciede2000", "psnr", "ssim")


def score(real: list[np.ndarray], fake: list[np.ndarray], real_features, network) -> tuple[dict, dict]:
    """(the means, with FID and KID; every per-image value, with the Inception features of ``fake``)."""
    per_image = {k: np.zeros(len(real)) for k in PER_IMAGE}
    for _, idx in by_size(real).items():
        r = tensor([real[i] for i in idx]).float() / 255
        f = tensor([fake[i] for i in idx]).float() / 255
        per_image["colourfulness"][idx] = colourfulness(f).numpy()
        lab_r = color.rgb_to_lab(r, axis=1).permute(0, 2, 3, 1).numpy()
        lab_f = color.rgb_to_lab(f, axis=1).permute(0, 2, 3, 1).numpy()
        per_image["ciede2000"][idx] = ciede2000(lab_f, lab_r).reshape(len(idx), -1).mean(1)
        per_image["psnr"][idx], per_image["ssim"][idx] = (v.numpy() for v in psnr_ssim_per_image(f, r))
    result = {k: float(v.mean()) for k, v in per_image.items()}
    if network is not None:
        per_image["features"] = features(network, fake)
        d = distances(real_features, per_image["features"])
        result.update(fid=d.fid, kid=d.kid, kid_std=d.kid_std)
    return result, per_image


def spreads(per_image: dict, reference: dict, groups: np.ndarray, real_features) -> dict[str, stats.Interval]:
    """Paired differences against ``reference`` (the grayscale input, or a baseline model), photos as the
    unit: CIEDE2000, PSNR and colourfulness per photo (mean of its views), and KID."""
    def per_photo(values: dict, key: str) -> np.ndarray:
        # PSNR is infinite where an image equals the truth (a gray photo, gray): count it as 100 dB
        return stats.photo_means(np.minimum(values[key], 100.0) if key == "psnr" else values[key], groups)

    out = {key: stats.bootstrap_interval(per_photo(per_image, key) - per_photo(reference, key))
           for key in ("ciede2000", "psnr", "colourfulness")}
    if "features" in per_image:
        out["kid"] = stats.kid_difference(real_features.numpy(), per_image["features"].numpy(),
                                          reference["features"].numpy(), groups)
    return out


class Scales:
    """The photos cut into tiles at each scale (``--scales``), and every colouriser's per-photo scores there."""

    def __init__(self, photos: list[np.ndarray], scales: tuple[int, ...]):
        self.scales = scales
        self.real, photo, scale = [], [], []
        for i, p in enumerate(photos):
            for k in scales:
                views_k = cut(p, tiles(*p.shape[:2], k))
                self.real += views_k
                photo += [i] * len(views_k)
                scale += [k] * len(views_k)
        self.photo, self.scale = np.array(photo), np.array(scale)
        self.grays = [gray_of(v) for v in self.real]
        self.per_photo: dict[str, dict[int, dict[str, np.ndarray]]] = {}

    def add(self, name: str, outputs: list[np.ndarray]) -> None:
        """Score ``outputs`` (one colour image per tile, in order) against the truth, per photo and scale."""
        _, per_image = score(self.real, outputs, None, None)
        self.per_photo[name] = {k: {m: stats.photo_means(per_image[m][self.scale == k], self.photo[self.scale == k])
                                    for m in ("ciede2000", "psnr", "colourfulness")} for k in self.scales}

    def truth_colourfulness(self) -> dict[int, np.ndarray]:
        values = np.array([float(colourfulness(tensor([r]).float() / 255)) for r in self.real])
        return {k: stats.photo_means(values[self.scale == k], self.photo[self.scale == k]) for k in self.scales}

    def summary(self, name: str, truth: dict[int, np.ndarray]) -> dict[str, float]:
        return scale_summary("q", self.per_photo[name], self.per_photo[GRAY], truth)

    def against(self, name: str, reference: str) -> dict[str, stats.Interval]:
        """CIEDE2000 of ``name`` minus ``reference``'s at each scale and their mean, photo-paired."""
        return paired_by_scale(self.per_photo[name], self.per_photo[reference])


def scale_names(summary: dict) -> list[str]:
    return [k.removeprefix("q_ciede2000_").removesuffix("_vs_gray") for k in summary
            if k.startswith("q_ciede2000_") and k.endswith("_vs_gray")]


def worst_scale(summary: dict) -> float:
    """The largest of the single scales' mean CIEDE2000 differences to the grayscale input."""
    return max(summary[f"q_ciede2000_{n}_vs_gray"] for n in scale_names(summary) if n != "scales_mean")


def beats_gray_everywhere(summary: dict) -> bool:
    return all(summary[f"q_ciede2000_{n}_vs_gray_hi"] < 0 for n in scale_names(summary) if n != "scales_mean")


def scales_markdown(summaries: dict[str, dict], source: str) -> str:
    """CIEDE2000 and PSNR minus the grayscale input's at each scale, and colourfulness, one row a model."""
    names = scale_names(next(iter(summaries.values())))
    head = " | ".join(describe_scale(n) for n in names)
    lines = [f"At several scales ({source}): each photo whole and cut into tiles of 1/k of its side, each tile "
             "posted at its own size; CIEDE2000 minus the grayscale input's, mean and 95% bootstrap interval over "
             "photos (below 0: better than gray).", "",
             f"| colouriser | {head} | worst scale |", "| --- |" + " ---: |" * (len(names) + 1)]
    for model, summary in summaries.items():
        cells = [f"{summary[f'q_ciede2000_{n}_vs_gray']:+.2f} [{summary[f'q_ciede2000_{n}_vs_gray_lo']:+.2f}, "
                 f"{summary[f'q_ciede2000_{n}_vs_gray_hi']:+.2f}]" for n in names]
        lines.append(f"| {model} | {' | '.join(cells)} | {worst_scale(summary):+.2f} |")
    lines += ["", "CIEDE2000 (the grayscale input's), PSNR in dB (the grayscale input's) and colourfulness (the "
              "truth's) at each scale:", "", f"| colouriser | {head} |", "| --- |" + " ---: |" * len(names)]
    first = next(iter(summaries.values()))
    lines.append("| grayscale input | " + " | ".join(
        f"{first[f'q_ciede2000_{n}_gray']:.2f} / {first[f'q_psnr_{n}_gray']:.2f} dB / 0" for n in names) + " |")
    for model, summary in summaries.items():
        lines.append(f"| {model} | " + " | ".join(
            f"{summary[f'q_ciede2000_{n}']:.2f} / {summary[f'q_psnr_{n}']:.2f} dB / {summary[f'q_colourfulness_{n}']:.1f}"
            for n in names) + " |")
    lines.append("| ground truth | " + " | ".join(f"0 / inf / {first[f'q_colourfulness_{n}_real']:.1f}" for n in names)
                 + " |")
    return "\n".join(lines)


def scales_against_markdown(against: dict[str, dict[str, stats.Interval]], reference: str) -> str:
    names = list(next(iter(against.values())))
    lines = [f"CIEDE2000 against `{reference}` at each scale, mean and 95% bootstrap interval over photos (below 0: "
             "better than it):", "", "| colouriser | " + " | ".join(describe_scale(n) for n in names) + " |",
             "| --- |" + " ---: |" * len(names)]
    for model, by_scale in against.items():
        lines.append(f"| {model} | " + " | ".join(f"{v.value:+.2f} [{v.low:+.2f}, {v.high:+.2f}]"
                                                    for v in by_scale.values()) + " |")
    return "\n".join(lines)


def choose_scales(pool: list[str], summaries: dict, reference: str, kid_between, scales: Scales) -> tuple[str, list[str]]:
    """Issue 33's rule (studies/encoder/README.md, round 5): admissible = KID and whole-photo CIEDE2000 not worse
    than ``reference``'s beyond the spread; among those, the ones that beat the grayscale input beyond the
    spread at every scale first, then the lowest worst scale. Returns (winner, one line per model)."""
    lines, admissible = [], []
    for name in pool:
        misses = []
        if name != reference:
            whole = scales.against(name, reference)["scale1"]
            if whole.above_zero():
                misses.append(f"whole-photo CIEDE2000 worse than {reference}'s beyond the spread ({whole})")
            if kid_between is not None:
                kid = kid_between(name, reference)
                if kid.above_zero():
                    misses.append(f"KID worse than {reference}'s beyond the spread ({kid.value:+.4f} "
                                  f"[{kid.low:+.4f}, {kid.high:+.4f}])")
        s = summaries[name]
        where = ("beats gray beyond the spread at every scale" if beats_gray_everywhere(s) else
                 "does not beat gray beyond the spread at every scale")
        if misses:
            lines.append(f"`{name}`: not admissible: {'; '.join(misses)}")
        else:
            admissible.append(name)
            lines.append(f"`{name}`: admissible; {where}; worst scale {worst_scale(s):+.2f}")
    if not admissible:
        return None, lines
    winner = min(admissible, key=lambda n: (not beats_gray_everywhere(summaries[n]), worst_scale(summaries[n])))
    return winner, lines


def eligible(rows: dict, spread: dict, name: str) -> list[str]:
    """What keeps a model from shipping under the study's rule (studies/encoder/README.md); [] when eligible:
    CIEDE2000 and PSNR better than the grayscale input's beyond the spread, colourfulness >= 80% of the truth's."""
    misses = []
    if not spread[name]["ciede2000"].below_zero():
        misses.append("CIEDE2000 not below gray's beyond the spread")
    if not spread[name]["psnr"].above_zero():
        misses.append("PSNR not above gray's beyond the spread")
    if rows[name]["colourfulness"] < 0.8 * rows["truth"]["colourfulness"]:
        misses.append("colourfulness under 80% of the truth's")
    return misses


def choose(rows: dict, spread: dict, kid_between, names: list[str]) -> tuple[str | None, str]:
    """The study's rule: among eligible models, the lowest KID; a model whose KID difference to that one is
    within the spread ties with it, and a tie goes to the lowest CIEDE2000, then to the earlier name
    (list cheaper recipes first). ``kid_between(a, b)``: the Interval of KID(a) - KID(b)."""
    candidates = [n for n in names if not eligible(rows, spread, n)]
    if not candidates:
        return None, "no model is eligible"
    if "kid" not in rows[candidates[0]]:
        return None, "KID was not computed (--no-fid)"
    best = min(candidates, key=lambda n: rows[n]["kid"])
    tied = [n for n in candidates if n == best or not kid_between(n, best).above_zero()]
    winner = min(tied, key=lambda n: (rows[n]["ciede2000"], names.index(n)))
    why = (f"lowest KID ({best})" if tied == [best] else
           f"tied on KID within the spread with {', '.join(t for t in tied if t != winner)}; lowest CIEDE2000")
    return winner, why


def spread_markdown(rows: dict, spread: dict, reference: str, names: list[str]) -> str:
    lines = [f"Paired differences against the {reference}, mean and 95% bootstrap interval over photos "
             f"({stats.BOOTSTRAP_RESAMPLES} resamples, each photo's views together); an interval containing 0 "
             "means no difference at this N.",
             "", "| colouriser | KID | CIEDE2000 | PSNR (dB) | colourfulness |", "| --- | ---: | ---: | ---: | ---: |"]
    for name in names:
        d = spread[name]
        kid = f"{d['kid'].value:+.4f} [{d['kid'].low:+.4f}, {d['kid'].high:+.4f}]" if "kid" in d else "n/a"
        lines.append(f"| {name} | {kid} | " + " | ".join(
            f"{d[k].value:+.2f} [{d[k].low:+.2f}, {d[k].high:+.2f}]" for k in ("ciede2000", "psnr", "colourfulness"))
            + " |")
    return "\n".join(lines)


def check_targets(rows: dict, name: str) -> list[tuple[str, bool]]:
    m, g, truth = rows[name], rows[GRAY], rows["truth"]["colourfulness"]
    checks = []
    if "fid" in m:
        checks += [(f"FID {m['fid']:.1f} <= 3/4 of the grayscale input's ({0.75 * g['fid']:.1f})", m["fid"] <= 0.75 * g["fid"]),
                   (f"KID {m['kid']:.4f} <= 3/4 of the grayscale input's ({0.75 * g['kid']:.4f})", m["kid"] <= 0.75 * g["kid"])]
    checks += [(f"CIEDE2000 {m['ciede2000']:.2f} < the grayscale input's ({g['ciede2000']:.2f})", m["ciede2000"] < g["ciede2000"]),
               (f"PSNR {m['psnr']:.2f} > the grayscale input's ({g['psnr']:.2f})", m["psnr"] > g["psnr"]),
               (f"colourfulness {m['colourfulness']:.1f} >= 75% of the truth's ({0.75 * truth:.1f})",
                m["colourfulness"] >= 0.75 * truth)]
    for other, o in rows.items():
        if other in (name, GRAY, "truth"):
            continue
        for key, lower in (("fid", True), ("kid", True), ("ciede2000", True), ("psnr", False), ("colourfulness", False)):
            if key in m and key in o:
                better = m[key] < o[key] if lower else m[key] > o[key]
                checks.append((f"{key} {m[key]:.4g} better than {other}'s {o[key]:.4g}", better))
    return checks


def markdown(rows: dict, n_photos: int, n_views: int, source: str, network: str | None) -> str:
    lines = [f"N = {n_photos * n_views} images ({n_photos} photos x {n_views} views) of {source}; "
             f"FID network: {network or 'not computed'}",
             "", "| colouriser | FID | KID | colourfulness | CIEDE2000 | PSNR (dB) | SSIM |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, m in rows.items():
        if name == "truth":
            continue
        fid = f"{m['fid']:.1f}" if "fid" in m else "n/a"
        kid = f"{m['kid']:.4f} ± {m['kid_std']:.4f}" if "kid" in m else "n/a"
        lines.append(f"| {name} | {fid} | {kid} | {m['colourfulness']:.1f} | {m['ciede2000']:.2f} | "
                     f"{m['psnr']:.2f} | {m['ssim']:.3f} |")
    lines.append(f"| ground truth | 0 | 0 | {rows['truth']['colourfulness']:.1f} | 0 | inf | 1 |")
    return "\n".join(lines)


def grid(path: Path, grays, outputs: dict[str, list[np.ndarray]], reals, picks: list[int], side: int = 160) -> None:
    """Rows: photos; columns: the gray input, each model, the truth (labelled)."""
    names = [GRAY, *outputs, "truth"]
    label_h = 18
    canvas = Image.new("RGB", (side * len(names), label_h + side * len(picks)), "white")
    draw = ImageDraw.Draw(canvas)
    for c, name in enumerate(names):
        draw.text((c * side + 4, 3), name[:26], fill="black")
        for r, i in enumerate(picks):
            image = (np.stack([grays[i]] * 3, -1) if name == GRAY else reals[i] if name == "truth"
                     else outputs[name][i])
            canvas.paste(Image.fromarray(image).resize((side, side), Image.Resampling.LANCZOS),
                         (c * side, label_h + r * side))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def write_outputs(args, text: str, numbers: dict) -> None:
    """Print the table; write it to --markdown and every number (with the machine) to --json."""
    print(text)
    if args.markdown:
        write_text_atomic(args.markdown, text + "\n")
    if args.json:
        write_text_atomic(args.json, json.dumps({**numbers, "machine": describe()}, indent=1))


def log_runs(models: dict, rows: dict, terms: str, table: str | None, scale_summaries: dict) -> None:
    from chromatic_charm import tracking

    for name, path in models.items():
        meta_path = Path(path).with_suffix(".json")
        run_id = json.loads(meta_path.read_text()).get("run_id") if meta_path.is_file() else None
        if not run_id:
            print(f"{name}: no run id in {meta_path}; not logged")
            continue
        metrics = {f"quality_{k}": v for k, v in rows[name].items()}
        metrics.update({f"quality_gray_{k}": v for k, v in rows[GRAY].items()})
        metrics["quality_truth_colourfulness"] = rows["truth"]["colourfulness"]
        metrics.update({f"quality_{k.removeprefix('q_')}": v for k, v in scale_summaries.get(name, {}).items()})
        try:
            tracking.log_measurements(run_id, metrics, {"quality_measured_on": terms},
                                      [table] if table else [], "quality")
            print(f"{name}: logged to run {run_id}")
        except Exception as exc:
            print(f"{name}: could not log to run {run_id} ({tracking.first_line(exc)})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True, metavar="NAME=PATH.onnx", help="repeatable")
    p.add_argument("--data", default="Data/Clean Data", help="prepared data (default 'Data/Clean Data')")
    p.add_argument("--split", default="test")
    p.add_argument("--photos", help="a folder of colour photos instead of a prepared split")
    p.add_argument("--max-photos", type=int, default=None)
    p.add_argument("--max-side", type=int, default=512,
                   help="photos from --photos are shrunk to this (default 512; 0 = as they are)")
    p.add_argument("--scales", default=",".join(map(str, EVAL_SCALES)), metavar="K[,K...]",
                   help="also score each photo as k x k tiles of 1/k of its side, for each k (1 = the whole photo; "
                        f"default {','.join(map(str, EVAL_SCALES))}; '' = none)")
    p.add_argument("--choose-scales", metavar="REFERENCE[=NAME,NAME...]", action="append", default=[],
                   help="apply issue 33's rule (studies/encoder/README.md, round 5) against this model: KID and "
                        "whole-photo CIEDE2000 not worse than its beyond the spread, then the best worst scale; among "
                        "the NAMEs (default: the models not --not-shippable, and REFERENCE); repeatable")
    p.add_argument("--crops", type=int, default=5, help=f"views a photo, 1 to {MAX_EVAL_CROPS} (default 5)")
    p.add_argument("--in-process", action="store_true", help="the inference path without a server (faster)")
    p.add_argument("--no-fid", action="store_true")
    p.add_argument("--targets", metavar="NAME", help="check issue 12's targets for this model")
    p.add_argument("--markdown", help="write the table (and the targets) to this file")
    p.add_argument("--json", help="write every number to this file")
    p.add_argument("--grid", help="write a grid of the first photos (whole views) to this image (.png, .jpg)")
    p.add_argument("--grid-photos", type=int, default=6)
    p.add_argument("--closeup-grid", help="write a grid of close-ups (the middle tile of the finest --scales) of the "
                                          "same photos to this image")
    p.add_argument("--baseline", metavar="NAME", action="append", default=[],
                   help="also give every other model's paired differences against this one (the L1-only run, say); "
                        "repeatable")
    p.add_argument("--choose", action="store_true", help="apply the study's rule (studies/encoder/README.md) and say "
                   "which model it picks; list cheaper recipes first (ties go to the earlier)")
    p.add_argument("--not-shippable", action="append", default=[], metavar="NAME",
                   help="a model the rule must not pick (a reference row: the old default, the L1-only baseline)")
    p.add_argument("--log-runs", action="store_true",
                   help="add the numbers to each model's MLflow run (its run id from the model's .json) as "
                        "quality_<metric>, with the terms in the tag quality_measured_on")
    args = p.parse_args(argv)
    models = dict(m.split("=", 1) for m in args.model)
    if args.targets and args.targets not in models:
        sys.exit(f"error: --targets {args.targets} is not one of the --model names ({', '.join(models)})")

    choices = []
    for text in args.choose_scales:
        reference, _, pool = text.partition("=")
        choices.append((reference, [n.strip() for n in pool.split(",")] if pool else None))
        for name in [reference, *(choices[-1][1] or [])]:
            if name not in models:
                sys.exit(f"error: --choose-scales {text}: {name} is not one of the --model names ({', '.join(models)})")
    for baseline in args.baseline:
        if baseline not in models:
            sys.exit(f"error: --baseline {baseline} is not one of the --model names ({', '.join(models)})")
    try:
        scale_list = parse_scales(args.scales) if args.scales.strip() else ()
    except ValueError as exc:
        sys.exit(f"error: --scales {exc}")
    if choices and not scale_list:
        sys.exit("error: --choose-scales needs --scales")

    photos, source = load_photos(args)
    real = [v for photo in photos for v in views(photo, args.crops)]
    groups = np.repeat(np.arange(len(photos)), args.crops)
    grays = [gray_of(v) for v in real]
    scaled = Scales(photos, scale_list) if scale_list else None
    network = None if args.no_fid else load_feature_network()
    real_features = features(network, real) if network is not None else None
    rows, per_image = {}, {}
    rows[GRAY], per_image[GRAY] = score(real, [np.stack([g] * 3, -1) for g in grays], real_features, network)
    if scaled:
        scaled.add(GRAY, [np.stack([g] * 3, -1) for g in scaled.grays])
    timings, outputs, tile_outputs = {}, {}, {}
    for name, path in models.items():
        everything, timings[name] = colorize_all(path, grays + (scaled.grays if scaled else []), args.in_process)
        outputs[name], tile_outputs[name] = everything[:len(grays)], everything[len(grays):]
        rows[name], per_image[name] = score(real, outputs[name], real_features, network)
        if scaled:
            scaled.add(name, everything[len(grays):])
        print(f"{name}: {timings[name]['seconds']:.1f} s for {len(everything)} images ({timings[name]['via']})",
              flush=True)
    rows["truth"] = {"colourfulness": float(np.mean([float(colourfulness(tensor([r]).float() / 255)) for r in real]))}
    names = list(models)
    spread = {name: spreads(per_image[name], per_image[GRAY], groups, real_features) for name in names}

    text = markdown(rows, len(photos), args.crops, source, network.description if network else None)
    text += "\n\n" + spread_markdown(rows, spread, GRAY, names)
    numbers_spread = {"against_gray": {n: {k: vars(v) for k, v in d.items()} for n, d in spread.items()}}
    for baseline in args.baseline:
        others = [n for n in names if n != baseline]
        against = {n: spreads(per_image[n], per_image[baseline], groups, real_features) for n in others}
        text += "\n\n" + spread_markdown(rows, against, f"baseline `{baseline}`", others)
        numbers_spread.setdefault("against", {})[baseline] = {n: {k: vars(v) for k, v in d.items()}
                                                              for n, d in against.items()}
    def kid_between(a: str, b: str) -> stats.Interval:
        return stats.kid_difference(real_features.numpy(), per_image[a]["features"].numpy(),
                                    per_image[b]["features"].numpy(), groups)

    scale_numbers = {}
    if scaled:
        truth = scaled.truth_colourfulness()
        summaries = {name: scaled.summary(name, truth) for name in names}
        text += "\n\n" + scales_markdown(summaries, f"{len(photos)} photos, scales {','.join(map(str, scale_list))}")
        scale_numbers = {"summary": summaries, "against": {}}
        for baseline in args.baseline:
            against = {n: scaled.against(n, baseline) for n in names if n != baseline}
            text += "\n\n" + scales_against_markdown(against, baseline)
            scale_numbers["against"][baseline] = {n: {k: vars(v) for k, v in d.items()} for n, d in against.items()}
        for reference, pool in choices:
            pool = pool or [n for n in names if n not in args.not_shippable or n == reference]
            winner, lines = choose_scales(pool, summaries, reference, kid_between if network is not None else None,
                                          scaled)
            text += (f"\n\nIssue 33's rule (studies/encoder/README.md, round 5) against `{reference}`, over "
                     + ", ".join(f"`{n}`" for n in pool) + ":\n\n"
                     + "\n".join(f"- {line}" for line in lines) + f"\n\n**Chosen: {winner or 'none'}**.")
            scale_numbers.setdefault("chosen", {})[reference] = winner
    if args.choose:

        pool = [n for n in names if n not in args.not_shippable]
        winner, why = choose(rows, spread, kid_between if network is not None else None, pool)
        text += "\n\nThe study's rule (studies/encoder/README.md), over " + ", ".join(f"`{n}`" for n in pool) + ":\n\n"
        text += "\n".join(f"- `{n}`: " + ("eligible" if not eligible(rows, spread, n) else
                                           "not eligible: " + "; ".join(eligible(rows, spread, n))) for n in pool)
        text += f"\n\n**Chosen: {winner if winner else 'none'}** ({why})."
        numbers_spread["chosen"] = {"model": winner, "why": why}
    ok = True
    if args.targets:
        checks = check_targets(rows, args.targets)
        ok = all(passed for _, passed in checks)
        text += f"\n\nTargets for `{args.targets}`:\n\n" + "\n".join(
            f"- {'met' if passed else 'MISSED'}: {what}" for what, passed in checks)
    write_outputs(args, text, {"rows": rows, "spread": numbers_spread, "models": models, "source": source,
                               "photos": len(photos), "views": args.crops, "timings": timings,
                               "scales": scale_numbers})
    if args.log_runs:
        via = "in process" if args.in_process else "through the API"
        log_runs(models, rows, f"{source}, {len(photos)} photos x {args.crops} views, {via}", args.markdown,
                 scale_numbers.get("summary", {}))
    if args.grid:
        picks = [i * args.crops for i in range(min(args.grid_photos, len(photos)))]
        grid(Path(args.grid), grays, outputs, real, picks)
    if args.closeup_grid and scaled:
        k = max(scale_list)  # the middle tile of the finest scale: a close-up of each of the first photos
        picks = [int(np.flatnonzero((scaled.photo == i) & (scaled.scale == k))[k * k // 2])
                 for i in range(min(args.grid_photos, len(photos)))]
        grid(Path(args.closeup_grid), scaled.grays, tile_outputs, scaled.real, picks)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    sys.exit(main())
