"""Pick the best run of an experiment and make it the champion: its generator registered with the alias
``champion``, or, on a server without a model registry (DagsHub), tags on the run and experiment.

By default the lowest test FID wins, ties broken by the lower validation L1. ``metric`` selects by
any other logged metric; runs without it are skipped with a warning. ``fallback_metric`` is used,
with a warning and a record in the result, only when no candidate has ``metric`` at all (runs
evaluated with ``--no-fid`` or without any Inception network). ``candidates`` restricts the choice to
given runs (the DVC pipeline passes the evaluation files of its own sweep), ``run_ids`` to runs named
directly (the training notebook passes the runs it made).

The choice stays the course's rule (FID on the whole-photo views); the close-up scores each run logged
(``evaluate``'s scales 2 and up: CIEDE2000 against the grayscale input with its interval) are shown beside it,
and ``closeups_disagree`` says when another candidate does better on close-ups than the champion.

Runs are only compared on equal terms: the same number of images N and views per photo, and for FID and
KID the same network; otherwise ``select`` stops and says what to re-evaluate (FID's bias depends on N).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from .config import DEFAULT_MODEL_NAME
from .errors import UserError
from .views import describe_scale, scale_names, verdict

HIGHER_IS_BETTER = ("psnr", "ssim", "colourfulness")


def direction(metric: str) -> str:
    return "max" if any(metric.endswith(k) or f"_{k}" in metric for k in HIGHER_IS_BETTER) else "min"


def candidate_run_ids(paths) -> set[str]:
    """Run ids named by evaluation files (``evaluate --metrics-out``): files or folders of ``*.json``."""
    ids = set()
    for path in map(Path, paths):
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if not path.exists() or not files:
            raise UserError(f"no evaluation files at '{path}'; run `chromatic-charm evaluate ... --metrics-out` first")
        for file in files:
            try:
                ids.add(json.loads(file.read_text())["run_id"])
            except (ValueError, KeyError, TypeError):
                raise UserError(f"'{file}' is not an evaluation file (no run_id); it comes from "
                                "`chromatic-charm evaluate --metrics-out`") from None
    ids.discard(None)
    return ids


def select(experiment: str, *, metric: str = "test_fid", mode: str | None = None, tie_breaker: str = "val_l1",
           model_name: str = DEFAULT_MODEL_NAME, register: bool = True, fallback_metric: str | None = None,
           candidates=None, run_ids=None) -> dict:
    """Returns {"run_id", "version", "table", "ranked": [...], "metric", "fallback_used", "registry",
    "champion_uri", "note", ...}; raises UserError when nothing qualifies.

    With ``register``, the best run becomes the champion: a registered version with the alias
    ``champion`` where the server has a model registry, else tags on the run and its experiment
    (``note`` says so); ``models:/<model_name>@champion`` finds it either way."""
    from . import tracking

    if mode not in (None, "min", "max"):
        raise UserError(f"direction must be min or max, got {mode!r}")
    wanted = (candidate_run_ids(candidates) if candidates is not None
              else set(run_ids) if run_ids is not None else None)
    runs = tracking.finished_runs(experiment, wanted)
    requested, fallback_reason = metric, None
    if fallback_metric and not any(_has(r, metric) for r in runs):
        fallback_reason = (f"no candidate run has '{metric}'"
                           + (" (evaluated with --no-fid, or without an Inception network; see "
                              "`chromatic-charm evaluate --help`)" if metric.endswith("fid") else ""))
        warnings.warn(f"{fallback_reason}: selecting by '{fallback_metric}' instead", stacklevel=2)
        metric, mode = fallback_metric, None
    mode = mode or direction(metric)
    candidates, skipped = [], []
    for run in runs:
        value = run.data.metrics.get(metric)
        if not _has(run, metric):
            skipped.append(run.info.run_name or run.info.run_id)
            continue
        if metric.endswith("fid") and value < 0:
            raise UserError(f"run {run.info.run_id} has {metric} = {value} < 0, which is impossible; re-evaluate it")
        candidates.append(run)
    if skipped:
        warnings.warn(f"{len(skipped)} run(s) without '{metric}' skipped: {', '.join(skipped[:10])}", stacklevel=2)
    if not candidates:
        raise UserError(f"no finished run in '{experiment}' has the metric '{metric}'; evaluate runs first "
                        "(without --no-fid for FID and KID), or pick another with --metric")
    terms = _terms(candidates, metric)
    sign = 1 if mode == "min" else -1
    ranked = sorted(candidates, key=lambda r: (sign * r.data.metrics[metric],
                                               r.data.metrics.get(tie_breaker, math.inf)))
    best = ranked[0]
    kid_note = kid_disagreement(ranked, metric)
    if kid_note:
        warnings.warn(kid_note, stacklevel=2)
    closeup_note = closeup_disagreement(ranked, metric)
    if closeup_note:
        warnings.warn(closeup_note, stacklevel=2)
    champion = {"registry": None, "version": None, "uri": None, "note": None}
    if register:
        champion = tracking.make_champion(best.info.run_id, best.info.experiment_id, model_name, f"{mode} {metric}")
    return {"run_id": best.info.run_id, "run_name": best.info.run_name, "version": champion["version"],
            "registry": champion["registry"], "champion_uri": champion["uri"], "note": champion["note"],
            "model": model_name,
            "metric": metric, "mode": mode, "value": best.data.metrics[metric], "requested_metric": requested,
            "fallback_used": fallback_reason is not None, "fallback_reason": fallback_reason,
            "ranked": [(r.info.run_id, r.info.run_name, r.data.metrics[metric]) for r in ranked],
            "compared_on": terms, "kid_disagrees": kid_note, "closeups_disagree": closeup_note,
            "closeups": {r.info.run_name or r.info.run_id: closeup_scores(r, metric) for r in ranked},
            "table": _table(ranked, metric, tie_breaker, best.info.run_id, terms)}


def kid_spread(std_a: float, std_b: float) -> float:
    """How far apart two KIDs must be to differ beyond their spread: twice their combined standard deviation
    over subsets (the one rule for KID differences: here, and in ``story``'s comparisons)."""
    return 2 * math.sqrt(std_a ** 2 + std_b ** 2)


def kid_disagreement(ranked, metric: str) -> str | None:
    """A sentence when KID, unbiased at small N, picks another run than ``metric`` beyond its spread (the
    two KIDs further apart than twice their combined std over subsets); None when they agree, or within
    the spread, or when there is no KID."""
    split = metric.split("_", 1)[0]
    kid, std = f"{split}_kid", f"{split}_kid_std"
    with_kid = [r for r in ranked if _has(r, kid)]
    if len(with_kid) < 2 or metric == kid:
        return None
    chosen, by_kid = ranked[0], min(with_kid, key=lambda r: r.data.metrics[kid])
    if chosen.info.run_id == by_kid.info.run_id or not _has(chosen, kid):
        return None
    a, b = chosen.data.metrics, by_kid.data.metrics
    gap, spread = a[kid] - b[kid], kid_spread(a.get(std, 0.0), b.get(std, 0.0))
    if gap <= spread:
        return None
    return (f"{metric} and {kid} disagree beyond KID's spread: {metric} picks {chosen.info.run_name} "
            f"({kid} {a[kid]:.4f} ± {a.get(std, 0.0):.4f}), {kid} picks {by_kid.info.run_name} "
            f"({b[kid]:.4f} ± {b.get(std, 0.0):.4f}); at a small N FID is dominated by its bias, KID is not")


VERDICT_ORDER = ("better", "no difference", "worse")  # against the grayscale input, beyond the spread or not


def closeup_scores(run, metric: str) -> dict:
    """The run's CIEDE2000 against the grayscale input on close-ups (every scale but the whole photo, from
    ``evaluate``'s scales): {"scale2": {"vs_gray", "low", "high", "verdict"}, ..., "worst": verdict or None}."""
    split = metric.split("_", 1)[0]
    m = run.data.metrics
    out = {}
    for name in scale_names(m, split):
        if name in ("scale1", "scales_mean") or f"{split}_ciede2000_{name}_vs_gray" not in m:
            continue
        key = f"{split}_ciede2000_{name}_vs_gray"
        out[name] = {"vs_gray": m[key], "low": m[f"{key}_lo"], "high": m[f"{key}_hi"],
                     "verdict": verdict(m, split, name)}
    verdicts = [v["verdict"] for v in out.values()]
    out["worst"] = max(verdicts, key=VERDICT_ORDER.index) if verdicts else None
    return out


def closeup_disagreement(ranked, metric: str) -> str | None:
    """A sentence when another candidate does better on close-ups than the run ``metric`` picks: its worst
    close-up scale against the grayscale input is a better verdict (better / no difference / worse, by the
    intervals each run logged); None when they agree or close-ups were not evaluated."""
    scores = [(r, closeup_scores(r, metric)) for r in ranked]
    chosen, chosen_scores = scores[0]
    if chosen_scores["worst"] is None:
        return None
    rank = VERDICT_ORDER.index
    better = [(r, c) for r, c in scores[1:] if c["worst"] is not None and rank(c["worst"]) < rank(chosen_scores["worst"])]
    if not better:
        return None
    best, best_scores = min(better, key=lambda rc: (rank(rc[1]["worst"]), max(v["vs_gray"] for k, v in rc[1].items()
                                                                             if k != "worst")))

    def describe(c: dict) -> str:
        return ", ".join(f"{describe_scale(k)} {v['vs_gray']:+.2f} [{v['low']:+.2f}, {v['high']:+.2f}]"
                         for k, v in c.items() if k != "worst")

    return (f"{metric} and the close-ups disagree: {metric} picks {chosen.info.run_name}, whose close-ups are "
            f"{_against_gray(chosen_scores['worst'])} (CIEDE2000 minus gray's: {describe(chosen_scores)}); "
            f"{best.info.run_name}'s are {_against_gray(best_scores['worst'])} ({describe(best_scores)})")


def _against_gray(verdict_: str) -> str:
    return {"better": "better than the grayscale input's beyond the spread",
            "no difference": "no different from the grayscale input's",
            "worse": "worse than the grayscale input's beyond the spread"}[verdict_]


def _has(run, metric: str) -> bool:
    value = run.data.metrics.get(metric)
    return value is not None and not math.isnan(value)


def _terms(runs, metric: str) -> str:
    """What the candidates were evaluated on, the same for all of them (else a UserError)."""
    split = metric.split("_", 1)[0]
    by_terms: dict[str, list[str]] = {}
    for run in runs:
        m, t = run.data.metrics, run.data.tags
        if f"{split}_images" in m:
            terms = f"N = {int(m[f'{split}_images'])} images ({int(m[f'{split}_photos'])} photos x {int(m[f'{split}_crops'])} views)"
        else:
            terms = "an unknown N (evaluated before N was recorded)"
        if metric.split("_", 1)[-1].startswith(("fid", "kid")):
            terms += f", network: {t.get(f'{split}_fid_network', 'unknown')}"
        by_terms.setdefault(terms, []).append(run.info.run_name or run.info.run_id)
    if len(by_terms) > 1:
        groups = "; ".join(f"{', '.join(names[:5])}: {terms}" for terms, names in by_terms.items())
        raise UserError(f"the candidates were evaluated on different terms, so their '{metric}' cannot be compared "
                        f"({groups}); re-evaluate them with the same --crops, --max-images and FID network")
    return next(iter(by_terms))


def _table(runs, metric: str, tie_breaker: str, best: str, terms: str) -> str:
    kid = f"{metric.split('_', 1)[0]}_kid"
    closeups = {run.info.run_id: closeup_scores(run, metric) for run in runs}
    scales = sorted({k for c in closeups.values() for k in c if k != "worst"})
    header = ["run", "lr_G", "lr_D", metric, f"{kid} ± std", tie_breaker, *map(describe_scale, scales), ""]
    lines = [f"All runs compared on the same terms: {terms}."
             + (" Close-ups: CIEDE2000 minus the grayscale input's, mean and 95% interval over photos, beside the "
                "rule (not part of it)." if scales else ""), "",
             "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for run in runs:
        p, m = run.data.params, run.data.metrics
        tie = m.get(tie_breaker)
        c = closeups[run.info.run_id]
        cells = [run.info.run_name, p.get("lr_g", ""), p.get("lr_d", ""), f"{m[metric]:.4f}",
                 f"{m[kid]:.4f} ± {m.get(kid + '_std', math.nan):.4f}" if _has(run, kid) else "",
                 "" if tie is None else f"{tie:.4f}",
                 *(f"{c[k]['vs_gray']:+.2f} [{c[k]['low']:+.2f}, {c[k]['high']:+.2f}]" if k in c else "" for k in scales),
                 "champion" if run.info.run_id == best else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
