"""Score a generator on a split: FID and KID with their baselines, colourfulness, CIEDE2000, PSNR, SSIM.

Each photo is seen as ``crops`` views (the whole photo, then corner crops and mirror images; see
``dataset.eval_views``), so a small test set gives FID and KID more samples: N = photos x crops images,
and every number says N. Baselines, computed once per dataset, N and network (cached under
outputs/baselines/ with the real images' features):
- ``*_baseline_gray``: the grayscale input shown as colour, the do-nothing colouriser;
- ``*_baseline_real_halves``: real against real, the photos split in two halves (all views of a photo in
  the same half): how far apart two sets of different real photos are at this N. Not a floor: the
  generated images show the same photos as the real ones they are compared with, so with few photos
  a colouriser can score below it. FID's is at N/2 per side (FID's small-sample bias); KID has none.
Where no Inception network can be had (or ``fid=False``), FID and KID are marked not computed (tag
``<split>_fid_status``) and every other metric is still recorded; no other number is ever logged under
their names. The tags ``<split>_fid_network`` and ``<split>_fid_network_search`` say which network produced
the numbers and in which order the places were searched.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from . import color, spread, stats
from .config import DEFAULT_EVAL_CROPS, EVAL_SCALES, MAX_EVAL_CROPS, clean_data_dir, project_root
from .data.dataset import ArraySplit, eval_tiles, eval_views, read_manifest
from .devices import resolve_device
from .errors import UserError
from .files import atomic_path, write_text_atomic
from .generators import resolve_generator
from .metrics import (MIN_DISTANCE_SAMPLES, MIN_UNBIASED_SAMPLES, SEARCH_ORDER, Distances, FeatureNetwork, ciede2000, colourfulness,
                      distances, find_fid_weights, load_feature_network, psnr_per_image,
                      psnr_ssim_per_image)
from .models.propagation import with_hints
from .training.hints import sample_hints
from .views import PSNR_CAP, is_scale_metric, scale_summary, scale_table

VIEW_MEASURES = ("ciede2000", "psnr", "ssim")  # per view, for the model and the grayscale input
HINT_SEED = 2017  # the points of --hints: the same for every model and run


def served_hints(generator: torch.nn.Module):
    """``f(lightness, hint_map) -> ab`` as an export of ``generator`` serves hints: a network that reads the
    hints itself through the exported graph (its input, then the graph's propagation); any other, the network
    and then ``chromatic_charm.spread``'s propagation in numpy, with the defaults the export writes."""
    if getattr(generator, "takes_hints", False):
        return with_hints(generator)
    config = spread.SpreadConfig()

    def run(lightness: torch.Tensor, hint_map: torch.Tensor) -> torch.Tensor:
        ab = generator(lightness).float()
        l_np, ab_np, h_np = (t.detach().float().cpu().numpy() for t in (lightness, ab, hint_map))
        out = np.stack([spread.propagate(l_np[i, 0], ab_np[i], h_np[i], config) for i in range(len(ab_np))])
        return torch.from_numpy(out).to(ab.device)

    return run
BASELINES_VERSION = 2  # bump when the cached real features or baselines would change


@torch.no_grad()
def evaluate(source: str, *, data_dir: str | Path | None = None, split: str = "test", batch_size: int = 16,
             max_images: int | None = None, crops: int = DEFAULT_EVAL_CROPS, device: str | torch.device = "auto",
             fid: bool = True, fid_weights: str | None = None, network: FeatureNetwork | None = None,
             log: bool = True, progress: bool = True, hints: tuple[int, ...] = (),
             scales: tuple[int, ...] = EVAL_SCALES) -> dict:
    """Evaluate; returns {"metrics": {...}, "fid_status", "fid_network", "table": markdown, "run_id", "photos",
    "samples", "crops", "report"}.

    ``max_images`` limits the photos (each gives ``crops`` images); ``batch_size`` counts photos.
    ``fid=False`` skips FID and KID (the Inception network is the slow part on a CPU); ``network``
    replaces the searched Inception (tests only).

    ``hints``: for each K, the views are colourised again with K points of their true colours (1-pixel
    patches at random places, fixed seed: the same points for every model), through the generator as
    exported and served (``served_hints``: its own hint input and the graph's propagation if trained with
    ``--hints``, else the network then ``chromatic_charm.spread``'s propagation, as the Colorizer runs it),
    and CIEDE2000, PSNR and colourfulness are recorded as ``<split>_<metric>_hints<K>`` (K = 0 is the plain
    evaluation's; ``out["hint_curve"]`` has each K's per-image values, for intervals).

    ``scales``: each photo is also cut into k x k tiles of 1/k of its side for each k (``views.tiles``;
    1 = the whole photo, 2 and 3 = close-ups), and CIEDE2000, PSNR and colourfulness are recorded per scale
    and for their mean, with the grayscale input's values and the paired difference to them with its
    bootstrap interval over photos (``views.scale_summary``: ``<split>_ciede2000_scale2_vs_gray_hi``, ...)."""
    from tqdm.auto import tqdm

    if not 1 <= crops <= MAX_EVAL_CROPS:
        raise UserError(f"--crops must be between 1 and {MAX_EVAL_CROPS}, got {crops}")
    device = resolve_device(device)
    # --- what to measure with: the network first, so that a wrong --fid-weights fails before any work
    status, fid_network = "not computed: skipped (--no-fid)", None
    if fid and network is None:
        if fid_weights:
            find_fid_weights(fid_weights)  # a named file must exist: raise now, not "not computed" later
        try:
            network = load_feature_network(fid_weights, device)
        except UserError as exc:
            status = f"not computed: {exc}"
    data_dir = Path(data_dir) if data_dir else clean_data_dir()
    manifest = read_manifest(data_dir)
    src = resolve_generator(source, device)
    hints = tuple(sorted(set(int(k) for k in hints)))
    if hints and min(hints) < 0:
        raise UserError(f"--hints takes numbers of points >= 0, got {min(hints)}")
    hinted_generator = served_hints(src.generator) if hints else None  # the network, then the hints' propagation
    images = ArraySplit(data_dir, split)
    photos = len(images) if max_images is None else min(max_images, len(images))
    if photos < 2:
        raise UserError(f"the {split} split has {photos} images; evaluation needs at least 2")
    n = photos * crops
    if network is not None and n < MIN_DISTANCE_SAMPLES:
        status, network = f"not computed: N = {n} images, FID and KID need at least {MIN_DISTANCE_SAMPLES}", None

    # --- the real images' features and the baselines: from the cache, or computed in the loop below
    cache, cached = None, None
    if network is not None:
        cache = (project_root() / "outputs" / "baselines" /
                 f"v{BASELINES_VERSION}_{manifest.get('data_version', 'unknown')}_{split}_{src.image_size}px_"
                 f"{photos}x{crops}_{network.key}.npz")
        if cache.is_file() and manifest.get("data_version"):
            cached = np.load(cache)
    features = {"real": [], "fake": [], "gray": []}
    scales = tuple(sorted(set(int(k) for k in scales)))
    by_scale = {kind: {k: {} for k in scales} for kind in ("model", "gray")}  # per-photo values, batch by batch
    curve = {k: {"ciede2000": [], "psnr": [], "colourfulness": []} for k in hints}
    per_view = {name: [] for name in (*VIEW_MEASURES, "colourfulness", *(f"{m}_gray" for m in VIEW_MEASURES))}

    # --- the loop: colourise every view, score the pixels, collect features
    sums = {"colourfulness": 0.0, "colourfulness_real": 0.0, "ciede2000": 0.0, "psnr": 0.0, "ssim": 0.0}
    for start in tqdm(range(0, photos, batch_size), desc=f"evaluating on {split} ({crops} views a photo)",
                      disable=not progress):
        batch = images[list(range(start, min(start + batch_size, photos)))]
        rgb = eval_views(batch, image_size=src.image_size, crops=crops, device=device)
        lightness, ab = color.rgb_to_model_input(rgb, axis=1)
        fake_ab = src.generator(lightness).float()
        real = color.model_output_to_rgb(lightness, ab, axis=1).clamp(0, 1)
        lab_real = _lab(lightness, ab)


        def score(pred_ab: torch.Tensor) -> tuple[torch.Tensor, dict]:
            return _score(lightness, lab_real, real, pred_ab)

        fake, per_image = score(fake_ab)
        _, gray_scores = score(torch.zeros_like(ab))  # the grayscale input, on the same views
        for name in (*VIEW_MEASURES, "colourfulness"):
            per_view[name].append(np.asarray(per_image[name], np.float64))
        for name in VIEW_MEASURES:
            per_view[f"{name}_gray"].append(np.asarray(gray_scores[name], np.float64))
        sums["colourfulness_real"] += colourfulness(real).sum().item()
        for name, values in per_image.items():
            sums[name] += float(values.sum())
        for points in hints:  # the same views with K hints of their true colours (K = 0: the scores above)
            if points:
                draw = torch.Generator().manual_seed(HINT_SEED + 7919 * start + points)
                _, scores = score(hinted_generator(lightness, sample_hints(ab, points, patch=1, generator=draw)).float())
            else:
                scores = per_image
            for name in curve[points]:
                curve[points][name] += [float(v) for v in scores[name]]
        for k in scales:  # the same photos as tiles of 1/k of the side: close-ups at k >= 2
            for kind, values in _score_tiles(src.generator, batch, k, src.image_size, device).items():
                for name, v in values.items():
                    by_scale[kind][k].setdefault(name, []).append(v)
        if network is not None:
            features["fake"].append(network(fake))
            if cached is None:
                features["real"].append(network(real))
                gray = color.model_output_to_rgb(lightness, torch.zeros_like(ab), axis=1).clamp(0, 1)
                features["gray"].append(network(gray))

    # --- the numbers
    metrics = {f"{split}_{k}": v / n for k, v in sums.items()}
    metrics.update({f"{split}_photos": photos, f"{split}_crops": crops, f"{split}_images": n})
    per_photo = {name: np.concatenate(v).reshape(photos, crops).mean(1) for name, v in per_view.items()}
    metrics.update(view_summary(split, per_photo))
    for points, values in curve.items():
        metrics.update({f"{split}_{name}_hints{points}": float(np.mean(v)) for name, v in values.items()})
    if scales:
        joined = {kind: {k: {name: np.concatenate(v) for name, v in values.items()} for k, values in per.items()}
                  for kind, per in by_scale.items()}
        metrics.update(scale_summary(split, joined["model"], joined["gray"],
                                     {k: joined["gray"][k]["colourfulness_real"] for k in scales}))
        for k in scales:  # each photo's values at each scale, for paired comparisons between runs
            per_photo.update({f"{name}_scale{k}": v for name, v in joined["model"][k].items()})
            per_photo.update({f"{name}_scale{k}_gray": v for name, v in joined["gray"][k].items()
                              if name != "colourfulness_real"})
    note = None
    if network is not None:
        if cached is None:
            real = torch.cat(features["real"])
            baselines = _baselines(real, torch.cat(features["gray"]), crops)
            if manifest.get("data_version"):
                with atomic_path(cache) as partial, open(partial, "wb") as f:  # parallel stages write it too
                    np.savez(f, real=real.numpy(), baselines=json.dumps(baselines))
        else:
            real, baselines = torch.from_numpy(cached["real"]), json.loads(str(cached["baselines"]))
        scores = distances(real, torch.cat(features["fake"]))
        metrics.update(_scores(split, "", scores))
        metrics.update({f"{split}_{k}": v for k, v in baselines.items()})
        status = f"computed on {n} images ({photos} photos x {crops} views) per side"
        fid_network = network.description
        if n < MIN_UNBIASED_SAMPLES:
            note = (f"N = {n} < {MIN_UNBIASED_SAMPLES}: FID is biased upwards at this N; compare runs at equal N and "
                    "views only (KID is unbiased)")
    out = {"metrics": metrics, "fid_status": status, "fid_network": fid_network, "run_id": src.run_id,
           "photos": photos, "crops": crops, "samples": n,
           "per_photo": {name: [float(x) for x in v] for name, v in per_photo.items()},
           "table": _table(metrics, split, status, fid_network, photos, crops)}
    if note:
        out["note"] = note
    if curve:
        out["hint_curve"] = curve
    report = project_root() / "outputs" / "evaluation" / f"{src.label}_{split}.md"
    write_text_atomic(report, out["table"])
    out["report"] = report
    if log and src.run_id:
        _log(src.run_id, metrics, split, {"fid_status": status, "fid_network": fid_network or "none",
                                          "fid_network_search": " > ".join(SEARCH_ORDER)}, report)
    return out


def view_summary(split: str, per_photo: dict[str, np.ndarray]) -> dict[str, float]:
    """Each photo's mean over its views -> the intervals of the main table: ``<split>_<m>_lo``/``_hi`` (the
    mean's bootstrap interval over photos, views of a photo resampled together), the grayscale input's mean
    ``<split>_<m>_gray`` and the paired difference to it ``<split>_<m>_vs_gray`` with ``_lo``/``_hi``, for
    CIEDE2000, PSNR and SSIM; colourfulness with its interval. PSNR is capped at ``PSNR_CAP`` for the
    intervals (a gray photo's grayscale input is exact: infinite PSNR)."""
    out: dict[str, float] = {}
    for name in (*VIEW_MEASURES, "colourfulness"):
        values = np.asarray(per_photo[name], np.float64)
        if name == "psnr":
            values = np.minimum(values, PSNR_CAP)
        if len(values) >= 2:
            own = stats.bootstrap_interval(values)
            out.update({f"{split}_{name}_lo": own.low, f"{split}_{name}_hi": own.high})
        if name == "colourfulness":
            continue
        gray = np.asarray(per_photo[f"{name}_gray"], np.float64)
        if name == "psnr":
            gray = np.minimum(gray, PSNR_CAP)
        out[f"{split}_{name}_gray"] = float(gray.mean())
        if len(values) >= 2:
            diff = stats.bootstrap_interval(values - gray)
            out.update({f"{split}_{name}_vs_gray": diff.value, f"{split}_{name}_vs_gray_lo": diff.low,
                        f"{split}_{name}_vs_gray_hi": diff.high})
    return out


def _lab(lightness: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """Model tensors (B, 1, H, W) and (B, 2, H, W) -> CIE Lab (B, H, W, 3) float32 on the CPU."""
    return torch.cat([color.denormalize_l(lightness), color.denormalize_ab(ab)], 1).permute(0, 2, 3, 1).cpu().numpy()


def _score(lightness: torch.Tensor, lab_real: np.ndarray, real: torch.Tensor, pred_ab: torch.Tensor, *,
           with_ssim: bool = True) -> tuple[torch.Tensor, dict]:
    """The colour views of ``pred_ab`` and their per-image colourfulness, CIEDE2000, PSNR and SSIM against the
    truth (``lab_real``, and ``real`` in RGB)."""
    rgb_pred = color.model_output_to_rgb(lightness, pred_ab, axis=1).clamp(0, 1)
    delta = ciede2000(_lab(lightness, pred_ab), lab_real)
    out = {"colourfulness": colourfulness(rgb_pred).cpu(), "ciede2000": delta.reshape(len(delta), -1).mean(1)}
    if with_ssim:
        psnr, ssim = psnr_ssim_per_image(rgb_pred, real)
        out.update(psnr=psnr.cpu(), ssim=ssim.cpu())
    else:
        out["psnr"] = psnr_per_image(rgb_pred, real).cpu()
    return rgb_pred, out


def _score_tiles(generator, batch: torch.Tensor, scale: int, image_size: int, device) -> dict[str, dict[str, np.ndarray]]:
    """A batch of photos cut into scale x scale tiles, colourised -> {"model": ..., "gray": ...}, each
    {"ciede2000", "psnr", "colourfulness"} -> (B,) each photo's mean over its tiles (the grayscale input's
    also carries "colourfulness_real", the truth's)."""
    rgb = eval_tiles(batch, image_size=image_size, scale=scale, device=device)
    lightness, ab = color.rgb_to_model_input(rgb, axis=1)
    real = color.model_output_to_rgb(lightness, ab, axis=1).clamp(0, 1)
    lab_real = _lab(lightness, ab)
    out = {}
    for kind, pred in (("model", generator(lightness).float()), ("gray", torch.zeros_like(ab))):
        _, values = _score(lightness, lab_real, real, pred, with_ssim=False)
        out[kind] = {name: np.asarray(values[name], np.float64).reshape(len(batch), -1).mean(1)
                     for name in ("ciede2000", "psnr", "colourfulness")}
    out["gray"]["colourfulness_real"] = colourfulness(real).cpu().numpy().reshape(len(batch), -1).mean(1)
    return out


def _scores(split: str, suffix: str, d: Distances) -> dict:
    return {f"{split}_fid{suffix}": d.fid, f"{split}_kid{suffix}": d.kid, f"{split}_kid{suffix}_std": d.kid_std}


def _baselines(real: torch.Tensor, gray: torch.Tensor, crops: int) -> dict:
    """FID and KID of the grayscale input, and of one half of the real photos against the other (a photo's
    views stay together: split by photo, not by view, or the halves would share photos)."""
    photo = torch.arange(len(real)) // crops
    first = photo % 2 == 0
    out = {}
    for name, (a, b) in (("baseline_gray", (real, gray)), ("baseline_real_halves", (real[first], real[~first]))):
        if min(len(a), len(b)) >= MIN_DISTANCE_SAMPLES:  # two or three photos: no halves to compare
            d = distances(a, b)
            out.update({f"fid_{name}": d.fid, f"kid_{name}": d.kid, f"kid_{name}_std": d.kid_std})
    return out


def _table(metrics: dict, split: str, status: str, network: str | None, photos: int, crops: int) -> str:
    descriptions = {
        "fid": "FID, generated vs real (lower is better)",
        "kid": "KID (MMD^2, polynomial kernel), generated vs real, mean over subsets (lower is better)",
        "kid_std": "KID's standard deviation over subsets",
        "fid_baseline_gray": "FID of the grayscale input shown as colour (do-nothing baseline)",
        "kid_baseline_gray": "KID of the grayscale input shown as colour",
        "kid_baseline_gray_std": "",
        "fid_baseline_real_halves": "FID between two halves of the real photos, N/2 per side (different photos: a "
                                    "scale, not a floor)",
        "kid_baseline_real_halves": "KID between two halves of the real photos (different photos: a scale, not a floor)",
        "kid_baseline_real_halves_std": "",
        "colourfulness": "colourfulness of the outputs (Hasler and Suesstrunk)",
        "colourfulness_real": "colourfulness of the ground truth",
        "ciede2000": "mean CIEDE2000 to the ground truth (lower is better)",
        "psnr": "PSNR to the ground truth, dB",
        "ssim": "SSIM to the ground truth",
    }
    for name in (*VIEW_MEASURES, "colourfulness"):
        descriptions.update({f"{name}_lo": "  95% bootstrap interval over photos, low", f"{name}_hi": "  high",
                             f"{name}_gray": f"{name} of the grayscale input on the same views",
                             f"{name}_vs_gray": f"{name}, model minus grayscale input, paired by photo",
                             f"{name}_vs_gray_lo": "  95% bootstrap interval, low", f"{name}_vs_gray_hi": "  high"})
    for name in ("ciede2000", "psnr", "colourfulness"):
        for key in metrics:
            if key.startswith(f"{split}_{name}_hints"):
                points = key.rsplit("_hints", 1)[1]
                descriptions[key.removeprefix(f"{split}_")] = f"{name} with {points} hints of the true colours (1 px each)"
    lines = [f"Evaluation on the {split} split: {photos} photos x {crops} views = {photos * crops} images (N).",
             f"FID and KID: {status}." + (f" Network: {network}." if network else ""),
             f"Where the network is looked for, in order: {' > '.join(SEARCH_ORDER)}.", "",
             "| metric | value | meaning |", "| --- | --- | --- |"]
    for key, value in metrics.items():
        name = key.removeprefix(f"{split}_")
        if name in ("photos", "crops", "images") or is_scale_metric(key):
            continue
        lines.append(f"| {key} | {value:.4f} | {descriptions.get(name, '')} |")
    scales = scale_table(metrics, split)
    if scales:
        lines += ["", f"The same {photos} photos at several scales, each against the grayscale input "
                  f"(`{split}_<metric>_scale<k>` and `..._scales_mean`, with `_gray`, `_vs_gray`, `_lo`, `_hi`):", "",
                  scales]
    return "\n".join(lines) + "\n"


def _log(run_id: str, metrics: dict, split: str, tags: dict, report: Path) -> None:
    from . import tracking

    try:
        tracking.log_measurements(run_id, metrics, {f"{split}_{k}": v for k, v in tags.items()}, [report], "evaluation")
    except Exception as exc:
        target = tracking.resolve_target()
        raise UserError(f"could not log to run {run_id} at {target.display} ({tracking.first_line(exc)}); "
                        f"the results are in {report}; use --no-log to skip logging") from None
