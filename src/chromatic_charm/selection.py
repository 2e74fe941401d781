"""Pick the best run of an experiment, register its generator and point the alias ``champion`` at it.

By default the lowest test FID wins, ties broken by the lower validation L1. ``metric`` selects by
any other logged metric (the offline pipeline uses one, since FID needs the Inception weights);
runs without it are skipped with a warning.
"""

from __future__ import annotations

import math
import warnings

from .errors import UserError

DEFAULT_MODEL_NAME = "chromatic-charm-generator"
ALIAS = "champion"
HIGHER_IS_BETTER = ("psnr", "ssim", "colourfulness")


def direction(metric: str) -> str:
    return "max" if any(metric.endswith(k) or f"_{k}" in metric for k in HIGHER_IS_BETTER) else "min"


def select(experiment: str, *, metric: str = "test_fid", mode: str | None = None, tie_breaker: str = "val_l1",
           model_name: str = DEFAULT_MODEL_NAME, register: bool = True) -> dict:
    """Returns {"run_id", "version", "table", "ranked": [...]}; raises UserError when nothing qualifies."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from .training import tracking

    tracking.use_target()
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise UserError(f"no MLflow experiment named '{experiment}'; train first or pass --experiment")
    mode = mode or direction(metric)
    if mode not in ("min", "max"):
        raise UserError(f"direction must be min or max, got {mode!r}")
    runs = client.search_runs([found.experiment_id], filter_string="attributes.status = 'FINISHED'", max_results=5000)
    candidates, skipped = [], []
    for run in runs:
        value = run.data.metrics.get(metric)
        if value is None or math.isnan(value):
            skipped.append(run.info.run_name or run.info.run_id)
            continue
        if metric.endswith("fid") and value < 0:
            raise UserError(f"run {run.info.run_id} has {metric} = {value} < 0, which is impossible; re-evaluate it")
        candidates.append(run)
    if skipped:
        warnings.warn(f"{len(skipped)} run(s) without '{metric}' skipped: {', '.join(skipped[:10])}", stacklevel=2)
    if not candidates:
        raise UserError(f"no finished run in '{experiment}' has the metric '{metric}'; evaluate runs first, "
                        "or pick another with --metric (FID needs the Inception weights)")
    sign = 1 if mode == "min" else -1
    ranked = sorted(candidates, key=lambda r: (sign * r.data.metrics[metric],
                                               r.data.metrics.get(tie_breaker, math.inf)))
    best = ranked[0]
    version = None
    if register:
        info = mlflow.register_model(f"runs:/{best.info.run_id}/generator", model_name)
        version = info.version
        client.set_registered_model_alias(model_name, ALIAS, version)
        client.set_model_version_tag(model_name, version, "selected_by", f"{mode} {metric}")
    return {"run_id": best.info.run_id, "version": version, "model": model_name, "metric": metric, "mode": mode,
            "ranked": [(r.info.run_id, r.info.run_name, r.data.metrics[metric]) for r in ranked],
            "table": _table(ranked, metric, tie_breaker, best.info.run_id)}


def _table(runs, metric: str, tie_breaker: str, best: str) -> str:
    lines = [f"| run | lr_G | lr_D | {metric} | {tie_breaker} | |", "| --- | --- | --- | --- | --- | --- |"]
    for run in runs:
        p, m = run.data.params, run.data.metrics
        tie = m.get(tie_breaker)
        lines.append(f"| {run.info.run_name} | {p.get('lr_g', '')} | {p.get('lr_d', '')} | {m[metric]:.4f} | "
                     f"{'' if tie is None else f'{tie:.4f}'} | {'champion' if run.info.run_id == best else ''} |")
    return "\n".join(lines)
