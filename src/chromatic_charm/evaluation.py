"""Score a generator on a split: FID, colourfulness, CIEDE2000, PSNR, SSIM, and two FID baselines.

Baselines, computed once per dataset (cached under outputs/baselines/ by data version):
- ``fid_baseline_gray``: the grayscale input shown as colour, the do-nothing colouriser;
- ``fid_baseline_real_halves``: real against real (two halves of the split), the floor that even a
  perfect colouriser cannot beat at this sample count.
Where the Inception weights cannot be had, FID is marked not computed (tag ``<split>_fid_status``)
and every other metric is still recorded; no other number is ever logged under FID's name.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from . import color
from .config import clean_data_dir, project_root
from .data.dataset import ArraySplit, read_manifest, to_model_batch
from .errors import UserError
from .metrics import FID, MIN_UNBIASED_SAMPLES, ciede2000, colourfulness, find_fid_weights, psnr_ssim

@dataclass
class GeneratorSource:
    generator: torch.nn.Module
    image_size: int
    run_id: str | None
    label: str  # for file names and messages


def resolve_generator(source: str, device: str | torch.device = "cpu") -> GeneratorSource:
    """A checkpoint file or folder, or any model reference of ``tracking.parse`` (a run id,
    ``runs:/<id>``, ``models:/m-<id>``, ``models:/<name>@<alias>``, ``models:/<name>/<version>``;
    ``models:/<name>@champion`` also where the server has no registry) -> the generator."""
    from . import tracking
    from .training import checkpoint

    path = Path(source)
    if path.exists():
        file = path / checkpoint.LAST if path.is_dir() else path
        state = checkpoint.load(file)
        generator = checkpoint.load_generator(file, device)
        return GeneratorSource(generator, state["train_config"]["image_size"], state.get("run_id"), file.parent.name)
    try:
        tracking.parse(source)
    except UserError:
        raise UserError(f"'{source}' is neither a checkpoint path nor a model reference (a run id, runs:/<id>, "
                        "models:/m-<id>, models:/<name>@<alias>)") from None
    run_id = tracking.run_of(source)
    import mlflow

    try:
        run = mlflow.get_run(run_id)
        generator = tracking.load_generator(run_id, device)
    except Exception as exc:
        raise UserError(f"cannot load the generator of run {run_id}: {tracking.first_line(exc)}") from None
    return GeneratorSource(generator.to(device).eval(), int(run.data.params.get("image_size", 256)), run_id, run_id[:8])


def _fid_or_reason(feature, weights, device) -> tuple[FID | None, str]:
    try:
        return FID(feature=feature, weights_path=weights, device=device), ""
    except UserError as exc:
        return None, str(exc)


@torch.no_grad()
def evaluate(source: str, *, data_dir: str | Path | None = None, split: str = "test", batch_size: int = 16,
             max_images: int | None = None, device: str = "cpu", fid_weights: str | None = None,
             fid_feature: int | torch.nn.Module = 2048, log: bool = True, progress: bool = True) -> dict:
    """Evaluate; returns {"metrics": {...}, "fid_status": str, "table": markdown, "run_id": ...}.

    ``fid_feature``: 2048 for the Inception features; a module only in tests (the values are then
    logged as ``<split>_fid_test_features``, never as FID).
    """
    from tqdm.auto import tqdm

    if fid_weights:
        find_fid_weights(fid_weights)  # a named file must exist: raise now, not "not computed" later
    data_dir = Path(data_dir) if data_dir else clean_data_dir()
    manifest = read_manifest(data_dir)
    src = resolve_generator(source, device)
    images = ArraySplit(data_dir, split)
    n = len(images) if max_images is None else min(max_images, len(images))
    if n < 2:
        raise UserError(f"the {split} split has {n} images; evaluation needs at least 2")
    fid_name = "fid" if isinstance(fid_feature, int) else "fid_test_features"
    baseline_path = (project_root() / "outputs" / "baselines" /
                     f"{manifest.get('data_version', 'unknown')}_{split}_{src.image_size}_{n}_{fid_name}.json")
    need_baselines = not baseline_path.is_file()
    fid, reason = _fid_or_reason(fid_feature, fid_weights, device)
    fid_gray = fid_halves = None
    if fid is not None and need_baselines:
        fid_gray, _ = _fid_or_reason(fid_feature, fid_weights, device)
        fid_halves, _ = _fid_or_reason(fid_feature, fid_weights, device)

    sums = {"colourfulness": 0.0, "colourfulness_real": 0.0, "ciede2000": 0.0, "psnr": 0.0, "ssim": 0.0}
    for start in tqdm(range(0, n, batch_size), desc=f"evaluating on {split}", disable=not progress):
        batch = images[list(range(start, min(start + batch_size, n)))]
        lightness, ab = to_model_batch(batch, image_size=src.image_size, device=device)
        fake_ab = src.generator(lightness).float()
        fake = color.model_output_to_rgb(lightness, fake_ab, axis=1).clamp(0, 1)
        real = color.model_output_to_rgb(lightness, ab, axis=1).clamp(0, 1)
        k = len(batch)
        sums["colourfulness"] += colourfulness(fake).sum().item()
        sums["colourfulness_real"] += colourfulness(real).sum().item()
        lab_fake = torch.cat([color.denormalize_l(lightness), color.denormalize_ab(fake_ab)], 1)
        lab_real = torch.cat([color.denormalize_l(lightness), color.denormalize_ab(ab)], 1)
        delta = ciede2000(lab_fake.permute(0, 2, 3, 1).cpu().numpy(), lab_real.permute(0, 2, 3, 1).cpu().numpy())
        sums["ciede2000"] += float(delta.reshape(k, -1).mean(1).sum())
        psnr, ssim = psnr_ssim(fake, real)
        sums["psnr"] += psnr * k
        sums["ssim"] += ssim * k
        if fid is not None:
            fid.update(real, real=True)
            fid.update(fake, real=False)
        if fid_gray is not None:
            gray = color.model_output_to_rgb(lightness, torch.zeros_like(ab), axis=1)
            fid_gray.update(real, real=True)
            fid_gray.update(gray, real=False)
            for i in range(k):  # alternate images between the two halves
                fid_halves.update(real[i:i + 1], real=(start + i) % 2 == 0)

    metrics = {f"{split}_{k}": v / n for k, v in sums.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if fid is not None:
            result = fid.compute()
            metrics[f"{split}_{fid_name}"] = result.value
            metrics[f"{split}_{fid_name}_samples"] = result.samples
            status = f"computed on {result.samples} samples" + (f" ({result.reason})" if result.reason else "")
            if need_baselines:
                baselines = {"baseline_gray": fid_gray.compute().value,
                             "baseline_real_halves": fid_halves.compute().value}
                baseline_path.parent.mkdir(parents=True, exist_ok=True)
                baseline_path.write_text(json.dumps(baselines))
            baselines = json.loads(baseline_path.read_text())
            metrics.update({f"{split}_{fid_name}_{k}": v for k, v in baselines.items()})
        else:
            status = f"not computed: {reason}"
    for w in caught:
        if "biased" not in str(w.message) and "clamped" not in str(w.message):
            warnings.warn(w.message, w.category, stacklevel=2)
    out = {"metrics": metrics, "fid_status": status, "run_id": src.run_id, "samples": n,
           "table": _table(metrics, split, status, n)}
    if n < MIN_UNBIASED_SAMPLES and fid is not None:
        out["note"] = f"{n} samples < {MIN_UNBIASED_SAMPLES}: FID is biased upwards; compare runs at equal counts only"
    report = project_root() / "outputs" / "evaluation" / f"{src.label}_{split}.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(out["table"])
    out["report"] = report
    if log and src.run_id:
        _log(src.run_id, metrics, split, status, report)
    return out


def _table(metrics: dict, split: str, status: str, n: int) -> str:
    descriptions = {
        "fid": "FID, generated vs real (lower is better)",
        "fid_test_features": "Frechet distance on test features (tests only, not FID)",
        "fid_baseline_gray": "FID of the grayscale input shown as colour (do-nothing baseline)",
        "fid_baseline_real_halves": "FID between two halves of the real images (floor)",
        "colourfulness": "colourfulness of the outputs (Hasler and Suesstrunk)",
        "colourfulness_real": "colourfulness of the ground truth",
        "ciede2000": "mean CIEDE2000 to the ground truth (lower is better)",
        "psnr": "PSNR to the ground truth, dB",
        "ssim": "SSIM to the ground truth",
    }
    lines = [f"Evaluation on the {split} split ({n} images). FID: {status}.", "",
             "| metric | value | meaning |", "| --- | --- | --- |"]
    for key, value in metrics.items():
        name = key.removeprefix(f"{split}_")
        if name.endswith("_samples"):
            continue
        lines.append(f"| {key} | {value:.4f} | {descriptions.get(name, '')} |")
    return "\n".join(lines) + "\n"


def _log(run_id: str, metrics: dict, split: str, status: str, report: Path) -> None:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from . import tracking

    target = tracking.use_target()
    client = MlflowClient()
    try:
        client.log_batch(run_id, metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()])
        client.set_tag(run_id, f"{split}_fid_status", status)
        client.log_artifact(run_id, str(report), "evaluation")
    except Exception as exc:
        raise UserError(f"could not log to run {run_id} at {target.display} ({tracking.first_line(exc)}); "
                        f"the results are in {report}; use --no-log to skip logging") from None
