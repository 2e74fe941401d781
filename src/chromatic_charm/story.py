"""The numbers the deliverables share, from one pipeline run, and the words that go with them.

Every count, percentage and metric that the report, the EDA, the deck and the README all quote comes from
here, formatted once in the course's convention (a decimal point and a thousands comma: "0.0002",
"36,000"; percentages as "48%"), so a quantity reads the same everywhere:

- ``results(root)``: the pipeline's runs (the L1-only baseline, each adversarial run, the champion) with
  their metrics and each photo's values (``evaluate --curves-out``), and the comparisons between them:
  paired by photo with a bootstrap interval (CIEDE2000, PSNR, SSIM, colourfulness), KID by `select`'s rule
  (``selection.kid_spread``).
  A difference whose interval holds zero is "sin diferencia", never a win.
- ``data_facts(data)``: the clean data's counts and colour (the share of nearly neutral pixels, the hue
  families), each computed by one function of ``analysis``.
- ``facts(...)``: both as one flat mapping ``name -> text``; ``fill`` puts them into Markdown templates
  (``"FID {{champion.fid}}"``): the deliverables' prose is Markdown, not code.

The deliverables speak Spanish, so the words this module returns ("mejor", "sin diferencia") are Spanish.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import project_root
from .errors import UserError
from .wording import (FACTS_MIME, LOWER_IS_BETTER, Difference, between_groups, fill, kid_difference,  # noqa: F401
                      listing, missing, number, paired, percent, publish, signed, weight)

# How the photo set of the committed run is described (it is not the team's own: CREDITS.csv).
SOURCE_PHRASE = "fotos con licencia abierta de paquetes de Debian y juegos"
# Spanish names of analysis.HUE_FAMILIES, and what each family usually is in a photo.
HUE_NAMES = {"red and orange": "rojo y naranja", "yellow": "amarillo", "green": "verde", "cyan": "cian",
             "blue": "azul", "magenta and purple": "magenta y morado"}
HUE_SCENES = {"red and orange": "tierra, ladrillo y piel", "yellow": "arena, madera y luz cálida",
              "green": "vegetación", "cyan": "agua y cristal", "blue": "cielo y agua",
              "magenta and purple": "flores, ropa y objetos pintados"}
SPLIT_NAMES = {"train": "entrenamiento", "val": "validación", "test": "prueba"}
# What prepare sets aside, as (one photo, several photos).
REASON_NAMES = {"unreadable": ("ilegible", "ilegibles"), "truncated": ("truncada", "truncadas"),
                "too_small": ("demasiado pequeña", "demasiado pequeñas"), "grayscale": ("casi gris", "casi grises"),
                "sepia": ("virada a un tono", "viradas a un tono"), "duplicate": ("duplicada", "duplicadas")}
VERDICTS_EN = {"mejor": "better", "peor": "worse", "sin diferencia": "no difference"}  # the README speaks English
DEFAULT_RATES = (2e-4, 2e-4)  # pix2pix's lr_G and lr_D: where the sweep varies lambda_L1 and the seed


# --- the pipeline's runs ---------------------------------------------------------------------------------

@dataclass
class Run:
    key: str                     # the sweep item (params.yaml), or 'l1'
    name: str                    # the MLflow run name
    run_id: str
    metrics: dict                # evaluate's metrics (test_fid, test_ciede2000_gray, ...; val_fid, ... where the
                                 # run was also evaluated on the validation split, which select ranks)
    per_photo: dict = field(default_factory=dict)  # evaluate --curves-out: each photo's values
    settings: dict = field(default_factory=dict)   # lr_g, lr_d, lambda_l1, seed (params.yaml); {} for l1

    def m(self, name: str, split: str = "test") -> float:
        return float(self.metrics.get(f"{split}_{name}", math.nan))


@dataclass
class Results:
    runs: dict[str, Run]         # the adversarial runs, by sweep key
    l1: Run | None               # the L1-only baseline
    champion: str                # the sweep key of the champion
    photos: int
    crops: int
    selected_by: str = "test_fid"  # the metric select ranked by (metrics/champion.json): val_fid in the pipeline
    control: Run | None = None     # the L1 model trained on, L1 alone, as long as the adversarial runs: their control

    @property
    def best(self) -> Run:
        return self.runs[self.champion]

    @property
    def selection_split(self) -> str:
        return self.selected_by.split("_", 1)[0]

    def ranked(self, metric: str | None = None) -> list[Run]:
        """The adversarial runs by a metric (default: the one select ranked by), best first."""
        from .selection import direction  # select's own reading of which way a metric is better

        metric = metric or self.selected_by
        split, name = metric.split("_", 1)
        sign = 1 if direction(metric) == "min" else -1
        return sorted(self.runs.values(), key=lambda r: sign * r.m(name, split))

    def run(self, key: str) -> Run:
        return self.l1 if key == "l1" else self.control if key == "control" else self.runs[key]

    def compare(self, a: str, b: str, measure: str) -> Difference:
        """Run ``a`` minus run ``b`` (sweep keys or 'l1') on a per-photo measure, paired by photo."""
        ra, rb = self.run(a), self.run(b)
        if measure == "kid":
            return kid_difference(ra.m("kid"), ra.m("kid_std"), rb.m("kid"), rb.m("kid_std"))
        if measure not in ra.per_photo or measure not in rb.per_photo:
            raise UserError(f"no per-photo {measure} for {ra.name} or {rb.name}: run `dvc repro` (stage evaluate "
                            "writes them with --curves-out)")
        return paired(ra.per_photo[measure], rb.per_photo[measure], measure)

    def vs_gray(self, key: str, measure: str, scale: str = "") -> Difference:
        """Run minus the grayscale input on the same views (``scale``: '' for the main views, 'scale2', ...)."""
        r, name = self.run(key), f"{measure}_{scale}" if scale else measure
        return Difference(name, r.m(f"{name}_vs_gray"), r.m(f"{name}_vs_gray_lo"), r.m(f"{name}_vs_gray_hi"),
                          LOWER_IS_BETTER[measure])

    def group(self, **settings) -> list[Run]:
        """The adversarial runs whose settings match (e.g. lr_g=2e-4, lr_d=2e-4, lambda_l1=1000), by key."""
        return [r for r in self.runs.values() if all(math.isclose(float(r.settings.get(k, math.nan)), float(v))
                                                      for k, v in settings.items())]

    def seeds(self) -> list[Run]:
        """The largest group of runs that differ only by seed (same lr_G, lr_D and lambda_L1), by seed: the spread
        between runs of one recipe. [] when no two runs share their settings."""
        groups: dict[tuple, list[Run]] = {}
        for r in self.runs.values():
            if {"lr_g", "lr_d", "lambda_l1", "seed"} <= set(r.settings):
                key = tuple(float(r.settings[k]) for k in ("lr_g", "lr_d", "lambda_l1"))
                groups.setdefault(key, []).append(r)
        best = max(groups.values(), key=len, default=[])
        return sorted(best, key=lambda r: r.settings["seed"]) if len(best) >= 2 else []

    def doses(self) -> list[Run]:
        """The lambda_L1 runs at pix2pix's default rates and seed 0, by dose."""
        runs = self.group(lr_g=DEFAULT_RATES[0], lr_d=DEFAULT_RATES[1], seed=0)
        return sorted(runs, key=lambda r: r.settings["lambda_l1"])


def results(root: str | Path | None = None) -> Results:
    """The committed pipeline run (``reporting.pipeline_results``) with each run's per-photo values."""
    from .reporting import pipeline_results

    root = Path(root) if root else project_root()
    pipe = pipeline_results(root)
    sweep = pipe["params"].get("sweep", {})
    curves = root / "metrics" / "curves"

    def load(key: str, evaluation: dict, settings: dict) -> Run:
        per = {}
        path = curves / f"{key}.json"
        if path.is_file():
            per = json.loads(path.read_text()).get("per_photo", {})
        name = f"pipeline-{key}"
        metrics = dict(evaluation["metrics"])
        validation = pipe["validations"].get(key)
        if validation is not None and validation.get("run_id") == evaluation["run_id"]:
            metrics.update(validation["metrics"])  # val_* beside test_*: different names, no clash
        return Run(key, name, evaluation["run_id"], metrics, per, dict(settings))

    runs = {key: load(key, e, sweep.get(key, {})) for key, e in pipe["evaluations"].items()}
    l1 = next((load(key, e, {}) for key, e in pipe["baselines"].items()), None)
    champion = next((key for key, r in runs.items() if r.run_id == pipe["champion"]["run_id"]), None)
    if champion is None:
        raise UserError("metrics/champion.json names a run that is not among metrics/evaluation: run `dvc repro`")
    chosen = pipe["evaluations"][champion]
    control = next((load(key, e, {}) for key, e in pipe.get("controls", {}).items()), None)
    return Results(runs, l1, champion, int(chosen.get("photos", 0)), int(chosen.get("crops", 0)),
                   pipe["champion"].get("metric", "test_fid"), control)


# --- the showcase: examples chosen by a rule, not by hand ------------------------------------------------

@dataclass(frozen=True)
class Pick:
    label: str   # 'mejor', 'mediana' or 'peor'
    index: int   # the photo's row in the test split
    gain: float  # the grayscale input's CIEDE2000 minus the model's: positive = the model is closer to the truth


SHOWCASE_LABELS = ("mejor", "mediana", "peor")


def showcase(run: Run, each: int = 2, scale: str = "scale1") -> list[Pick]:
    """The test photos a report shows, chosen by their CIEDE2000 gain over the grayscale input (whole photos by
    default): the ``each`` best, the ``each`` around the median and the ``each`` worst, in that order (fewer of
    each when the split has under 3 x ``each`` photos)."""
    model, gray = run.per_photo.get(f"ciede2000_{scale}"), run.per_photo.get(f"ciede2000_{scale}_gray")
    if model is None or gray is None:
        raise UserError(f"no per-photo CIEDE2000 at {scale} for {run.name}: run `dvc repro` (evaluate --curves-out)")
    gain = np.asarray(gray, np.float64) - np.asarray(model, np.float64)
    order = [int(i) for i in np.argsort(-gain, kind="stable")]  # best first
    if len(order) < 3:
        raise UserError(f"{len(order)} test photos: a showcase of the best, the median and the worst needs 3")
    each = max(1, min(each, len(order) // 3))  # a small test split: fewer of each, never one photo twice
    middle = len(order) // 2 - each // 2
    chosen = zip(SHOWCASE_LABELS, (order[:each], order[middle:middle + each], order[-each:]))
    return [Pick(label, i, float(gain[i])) for label, rows in chosen for i in rows]


def seen_themes(res: Results, data) -> dict[str, str]:
    """Does the champion do better on the test photos whose series by name (``splits.series_name``: a theme, an author)
    also has training photos? Its gain over the grayscale input on each whole test photo (gray's CIEDE2000 minus the
    model's) on those photos against the others (``between_groups``), the champion against gray on the others alone
    (``paired``), and the nearest training photo's hash distance: the ``leak.*`` facts the EDA and the report give.
    Every fact is "—" where it cannot be measured (no per-photo values for these photos, or under 2 in a group)."""
    from . import splits

    names = ("leak.related", "leak.others", "leak.related_gain", "leak.other_gain", "leak.difference", "leak.verdict",
             "leak.others_vs_gray", "leak.others_vs_gray.verdict", "leak.min_distance", "leak.reading")
    per = res.best.per_photo
    test = data.index[data.index["split"] == "test"].sort_values("row")["source"].tolist()  # per_photo's order
    if len(per.get("ciede2000_scale1", [])) != len(test) or "ciede2000_scale1_gray" not in per:
        return {k: "—" for k in names}
    crossing = splits.series_across_splits(data)
    seen = set(crossing[crossing["train"] > 0].index)
    related = np.array([splits.series_name(n) in seen for n in test])
    model, gray = (np.asarray(per[k], np.float64) for k in ("ciede2000_scale1", "ciede2000_scale1_gray"))
    gain = gray - model
    nearest = splits.cross_split_neighbours(data)
    out = {k: "—" for k in names}
    out["leak.related"], out["leak.others"] = f"{int(related.sum()):,}", f"{int((~related).sum()):,}"
    if len(nearest):
        out["leak.min_distance"] = f"{int(nearest[nearest['split'] == 'test']['distance'].min())}"
    if not 2 <= related.sum() <= len(related) - 2:
        return out
    leak = between_groups(gain[related], gain[~related], "ganancia")
    alone = paired(model[~related], gray[~related], "ciede2000")
    out.update({
        "leak.related_gain": signed(gain[related].mean(), 2), "leak.other_gain": signed(gain[~related].mean(), 2),
        "leak.difference": leak.text(2), "leak.verdict": {"mejor": "mayor en las de tema compartido",
                                                          "peor": "menor en las de tema compartido",
                                                          "sin diferencia": "sin diferencia"}[leak.verdict],
        "leak.others_vs_gray": alone.text(2), "leak.others_vs_gray.verdict": alone.verdict,
        "leak.reading": {
            "mejor": "la diferencia va más allá de su intervalo: en estas fotos, el modelo acierta más en los temas que "
                     "ya vio",
            "peor": "la diferencia va más allá de su intervalo, al revés de lo que haría una fuga: el modelo acierta "
                    "menos en los temas que ya vio",
            "sin diferencia": "la diferencia no sale de su intervalo con tan pocas fotos: no se puede afirmar que el "
                              "modelo acierte más ni menos en los temas que ya vio (no concluyente)"}[leak.verdict]})
    return out


# --- facts: one flat mapping for the templates ----------------------------------------------------------

def run_facts(prefix: str, run: Run) -> dict[str, str]:
    """One run's numbers as text: fid, kid (± std), ciede2000, psnr, ssim and colourfulness with their
    intervals over photos."""
    out = {f"{prefix}.name": run.name, f"{prefix}.fid": number(run.m("fid"), 1),
           f"{prefix}.kid": number(run.m("kid"), 4), f"{prefix}.kid_std": number(run.m("kid_std"), 4)}
    for measure, d in (("ciede2000", 2), ("psnr", 2), ("ssim", 3), ("colourfulness", 1)):
        out[f"{prefix}.{measure}"] = number(run.m(measure), d)
        low, high = run.m(f"{measure}_lo"), run.m(f"{measure}_hi")
        out[f"{prefix}.{measure}_ci"] = (f"[{number(low, d)}, {number(high, d)}]" if not math.isnan(low)
                                         else "sin intervalo")
    out[f"{prefix}.colourfulness_real"] = number(run.m("colourfulness_real"), 1)
    out[f"{prefix}.val_fid"] = number(run.m("fid", "val"), 1)  # "no calculado" where not evaluated on validation
    out[f"{prefix}.val_kid"] = number(run.m("kid", "val"), 4)
    for key in ("lr_g", "lr_d", "lambda_l1", "seed"):
        if key in run.settings:
            out[f"{prefix}.{key}"] = weight(run.settings[key]) if key == "lambda_l1" else f"{run.settings[key]:g}"
    return out


def result_facts(res: Results) -> dict[str, str]:
    """The runs, the grayscale input and the comparisons the story rests on, as text."""
    best, out = res.best, {}
    out.update(run_facts("champion", best))
    if res.l1 is not None:
        out.update(run_facts("l1", res.l1))
    for key, run in res.runs.items():
        out.update(run_facts(f"runs.{key}", run))
    m = best.metrics
    out.update({"gray.fid": number(m.get("test_fid_baseline_gray"), 1), "gray.kid": number(m.get("test_kid_baseline_gray"), 4),
                "gray.kid_std": number(m.get("test_kid_baseline_gray_std"), 4),
                "real_halves.fid": number(m.get("test_fid_baseline_real_halves"), 1),
                "real_halves.kid": number(m.get("test_kid_baseline_real_halves"), 4),
                "gray.ciede2000": number(m.get("test_ciede2000_gray"), 2), "gray.psnr": number(m.get("test_psnr_gray"), 2),
                "gray.ssim": number(m.get("test_ssim_gray"), 3), "gray.val_fid": number(m.get("val_fid_baseline_gray"), 1),
                "eval.photos": f"{res.photos:,}", "eval.crops": f"{res.crops:,}", "eval.images": f"{res.photos * res.crops:,}",
                "eval.half_images": f"{res.photos * res.crops // 2:,}", "runs.count": f"{len(res.runs):,}"})
    for measure in ("ciede2000", "psnr", "ssim"):
        d = res.vs_gray(res.champion, measure)
        if not math.isnan(d.value):
            out[f"champion_vs_gray.{measure}"] = d.text(3 if measure == "ssim" else 2)
            out[f"champion_vs_gray.{measure}.verdict"] = d.verdict
    if res.l1 is not None:
        for measure in ("ciede2000", "psnr", "ssim", "colourfulness", "kid"):
            try:
                d = res.compare(res.champion, "l1", measure)
            except UserError:
                continue
            out[f"champion_vs_l1.{measure}"] = d.text(4 if measure == "kid" else 3 if measure == "ssim" else 2)
            if measure == "kid":
                out["champion_vs_l1.kid_en"] = d.text(4, threshold="threshold")
            out[f"champion_vs_l1.{measure}.verdict"] = d.verdict
        for measure in ("ciede2000", "psnr"):
            d = res.vs_gray("l1", measure)
            if not math.isnan(d.value):
                out[f"l1_vs_gray.{measure}"] = d.text(2)
                out[f"l1_vs_gray.{measure}.verdict"] = d.verdict
    out.update(selection_facts(res))
    out.update(control_facts(res))
    out.update(rate_facts(res))
    seeds = res.seeds()  # with one seed there is no spread to quote: "—" (a sweep without seeds)
    for measure, d in (("fid", 1), ("kid", 4), ("ciede2000", 2), ("colourfulness", 1)):
        values = [r.m(measure) for r in seeds]
        out[f"seeds.{measure}_range"] = f"{number(min(values), d)} a {number(max(values), d)}" if seeds else "—"
        every = [r.m(measure) for r in res.runs.values()]
        out[f"runs.{measure}_range"] = f"{number(min(every), d)} a {number(max(every), d)}"
    out["seeds.count"] = f"{len(seeds):,}"
    out["seeds.lambda_l1"] = weight(seeds[0].settings["lambda_l1"]) if seeds else "—"
    if res.l1 is not None:
        for measure in ("fid", "kid"):
            below = sum(r.m(measure) < res.l1.m(measure) for r in res.runs.values())
            out[f"runs.below_l1_{measure}"] = f"{below:,}"
        better = sum(kid_difference(r.m("kid"), r.m("kid_std"), res.l1.m("kid"), res.l1.m("kid_std")).verdict == "mejor"
                     for r in res.runs.values())
        out["runs.kid_better_than_l1"] = f"{better:,}" if better else "ninguna"
    doses = res.doses()
    out["doses.list"] = listing([weight(r.settings["lambda_l1"]) for r in doses]) or "—"
    out["doses.detail"] = listing([f"con λ = {weight(r.settings['lambda_l1'])}, FID {number(r.m('fid'), 1)} y KID "
                                   f"{number(r.m('kid'), 4)}" for r in doses]) or "—"
    out["doses.colourfulness"] = listing([number(r.m("colourfulness"), 1) for r in doses]) or "—"
    out["doses.count"] = f"{len(doses):,}"
    out["sweep.pairs"] = f"{len({(r.settings.get('lr_g'), r.settings.get('lr_d')) for r in res.runs.values()}):,}"
    out["sweep.default_rates"] = f"{DEFAULT_RATES[0]:g} / {DEFAULT_RATES[1]:g}"
    gray_kid = kid_difference(best.m("kid"), best.m("kid_std"), float(m.get("test_kid_baseline_gray", math.nan)),
                              float(m.get("test_kid_baseline_gray_std", math.nan)))
    if not math.isnan(gray_kid.value):
        out["champion_vs_gray.kid.verdict"] = gray_kid.verdict
    out.update({f"{k}_en": VERDICTS_EN[v] for k, v in list(out.items()) if k.endswith(".verdict")})
    out.update({f"{k}_en": v.replace(" a ", " to ") for k, v in list(out.items()) if k.endswith("_range")})
    return out


def control_facts(res: Results) -> dict[str, str]:
    """The adversarial phase against its control (the L1 model trained as long on L1 alone, ``Results.control``): the
    control's numbers, the champion against it (KID by select's rule, the rest photo by photo), how many runs beat it,
    and what the extra training alone did to the L1 run's colour; {} for a pipeline without the control."""
    if res.control is None:
        return {}
    out = run_facts("control", res.control)
    for measure in ("ciede2000", "psnr", "colourfulness", "kid"):
        try:
            d = res.compare(res.champion, "control", measure)
        except UserError:
            continue
        out[f"champion_vs_control.{measure}"] = d.text(4 if measure == "kid" else 2)
        if measure == "kid":
            out["champion_vs_control.kid_en"] = d.text(4, threshold="threshold")
        out[f"champion_vs_control.{measure}.verdict"] = d.verdict
        if measure == "colourfulness":
            out["champion_vs_control.colour_reading"] = "dio más color" if d.verdict == "mejor" else "no dio más color"
    for measure in ("fid", "kid"):
        below = sum(r.m(measure) < res.control.m(measure) for r in res.runs.values())
        out[f"runs.below_control_{measure}"] = f"{below:,}"
    kid_better = sum(kid_difference(r.m("kid"), r.m("kid_std"), res.control.m("kid"), res.control.m("kid_std")).verdict
                     == "mejor" for r in res.runs.values())
    out["runs.kid_better_than_control_n"] = f"{kid_better:,}"
    if "champion_vs_control.kid.verdict" in out:
        out["champion_vs_control.kid_reading"] = {"mejor": "mejora el KID más allá de su umbral",
                                                  "peor": "empeora el KID más allá de su umbral",
                                                  "sin diferencia": "no separa el KID más allá de su umbral"}[
            out["champion_vs_control.kid.verdict"]]
    if res.l1 is not None:  # what the extra training alone did to the L1 run
        try:
            d = res.compare("control", "l1", "colourfulness")
            out["control_vs_l1.colourfulness"] = d.text(2)
            out["control_vs_l1.colourfulness.verdict"] = d.verdict
            adversarial = out.get("champion_vs_control.colourfulness.verdict")
            out["control.colour_reading"] = (
                "lo trae el entrenamiento extra con esas tasas, no la pérdida adversarial"
                if d.verdict == "peor" and adversarial == "sin diferencia" else
                "el entrenamiento extra y la pérdida adversarial se reparten el cambio"
                if d.verdict == "peor" else "el entrenamiento extra, solo, no lo cambia")
        except UserError:
            pass
    return out


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two equally long sequences (average ranks for ties); nan under 3 values."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) != len(b) or len(a) < 3 or np.isnan(a).any() or np.isnan(b).any():
        return math.nan

    def ranks(x):
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=np.float64)
        for value in np.unique(x):  # ties share their average rank
            r[x == value] = r[x == value].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def run_label(settings: dict, base_lambda: float, base_seed: int = 0) -> str:
    """A sweep item by what sets it apart from the base recipe (pix2pix's rates, ``base_lambda``, ``base_seed``), in
    Spanish: «receta base», «semilla 1», «λ = 300», «G 1e-4 / D 3e-4», or both changes «G 1e-4 / D 3e-4, λ = 300».
    The report, the deck and the training notebook label runs with it, so no two runs share a label."""
    parts = []
    rates = (float(settings["lr_g"]), float(settings["lr_d"]))
    if rates != DEFAULT_RATES:
        parts.append(f"G {rates[0]:g} / D {rates[1]:g}")
    if float(settings["lambda_l1"]) != float(base_lambda):
        parts.append(f"λ = {weight(settings['lambda_l1'])}")
    if int(settings.get("seed", base_seed)) != int(base_seed):
        parts.append(f"semilla {int(settings['seed'])}")
    return ", ".join(parts) or "receta base"


@dataclass
class RateSweep:
    """The (lr_G, lr_D) pairs at each lambda_L1 that has more than one (seed 0), highest lambda first: their runs,
    the width of their FIDs per (lambda, split), the best pair's run by validation FID, and the seeds' width per split."""
    swept: dict[float, list[Run]]
    widths: dict[tuple[float, str], float]
    best: dict[float, Run]
    seed_width: dict[str, float]


def rate_sweep(res: Results) -> RateSweep:
    """The rate pairs of the sweep, measured (``rate_facts`` words them; the report's headlines read them)."""
    by_lambda: dict[float, list[Run]] = {}
    for r in res.runs.values():
        if {"lr_g", "lr_d", "lambda_l1"} <= set(r.settings) and int(r.settings.get("seed", 0)) == 0:
            by_lambda.setdefault(float(r.settings["lambda_l1"]), []).append(r)
    swept = {lam: sorted(runs, key=lambda r: (r.settings["lr_g"], -r.settings["lr_d"]))
             for lam, runs in sorted(by_lambda.items(), reverse=True)
             if len({(r.settings["lr_g"], r.settings["lr_d"]) for r in runs}) > 1}
    seeds = res.seeds()
    seed_width = {split: (max(r.m("fid", split) for r in seeds) - min(r.m("fid", split) for r in seeds)) if seeds else math.nan
                  for split in ("val", "test")}
    widths = {(lam, split): max(r.m("fid", split) for r in runs) - min(r.m("fid", split) for r in runs)
              for lam, runs in swept.items() for split in ("val", "test")}
    best = {lam: min(runs, key=lambda r: r.m("fid", "val")) for lam, runs in swept.items()}
    return RateSweep(swept, widths, best, seed_width)


def rate_facts(res: Results) -> dict[str, str]:
    """The (lr_G, lr_D) pairs at each lambda_L1 that has more than one (seed 0): the range of their validation and test
    FIDs beside the seeds' range, and whether the rates move FID more than the seed does. ``rates.lambdas`` lists
    those lambdas; ``rates.reading`` reads the comparison."""
    sweep = rate_sweep(res)
    swept, widths, seed_width, seeds = sweep.swept, sweep.widths, sweep.seed_width, res.seeds()
    out = {"rates.lambdas": listing([weight(lam) for lam in swept]) or "—", "rates.count": f"{len(swept):,}"}
    for lam, runs in swept.items():
        tag = f"rates.l{lam:g}"
        for split in ("val", "test"):
            values = [r.m("fid", split) for r in runs]
            out[f"{tag}.{split}_fid_range"] = f"{number(min(values), 1)} a {number(max(values), 1)}"
            out[f"{tag}.{split}_fid_width"] = number(widths[(lam, split)], 1)
        best = sweep.best[lam]
        out[f"{tag}.best"] = f"{best.settings['lr_g']:g} / {best.settings['lr_d']:g}"
    for split in ("val", "test"):
        out[f"rates.seed_{split}_width"] = number(seed_width[split], 1) if seeds else "—"
    out["rates.val_detail"] = listing([f"de {out[f'rates.l{lam:g}.val_fid_range']} a λ = {weight(lam)}" for lam in swept]) or "—"
    out["rates.best_detail"] = listing([f"{out[f'rates.l{lam:g}.best']} a λ = {weight(lam)}" for lam in swept]) or "—"
    if swept and seeds:
        wider = [lam for lam in swept if widths[(lam, "val")] > seed_width["val"]]
        out["rates.reading"] = (
            "las tasas mueven el FID de validación más que la semilla a "
            + listing([f"λ = {weight(lam)}" for lam in wider]) if wider else
            "las tasas no mueven el FID de validación más que la semilla a ningún λ")
        out["rates.reading"] += f" (la dispersión entre semillas se midió a λ = {weight(seeds[0].settings['lambda_l1'])})"
    else:
        out["rates.reading"] = "sin semillas no hay con qué comparar la dispersión de las tasas"
    return out


def selection_facts(res: Results) -> dict[str, str]:
    """How the champion was chosen and how the choice reads on the test split: the metric and split select ranked
    by, the champion's place on the test split, and whether the two splits order the runs alike."""
    split, name = res.selected_by.split("_", 1)
    label = {"fid": "FID", "kid": "KID", "ciede2000": "CIEDE2000", "psnr": "PSNR"}.get(name, name)
    out = {"select.metric": f"{label} de {SPLIT_NAMES.get(split, split)}", "select.split": SPLIT_NAMES.get(split, split)}
    on_test = res.ranked(f"test_{name}")
    out["champion.test_rank"] = f"{[r.key for r in on_test].index(res.champion) + 1}"
    out["test.best"] = on_test[0].name
    val = [r for r in res.runs.values() if not math.isnan(r.m(name, "val"))]
    if len(val) == len(res.runs):
        rho = rank_correlation([r.m(name, "val") for r in val], [r.m(name, "test") for r in val])
        out["select.rank_correlation"] = number(rho, 2)
        v = res.best.metrics
        out["val.photos"] = f"{int(v.get('val_photos', 0)):,}"
        out["val.images"] = f"{int(v.get('val_images', 0)):,}"
    else:
        out.update({"select.rank_correlation": "—", "val.photos": "—", "val.images": "—"})
    return out


def data_facts(data, max_images: int = 2000, seed: int = 0) -> dict[str, str]:
    """The clean data's counts, what ``prepare`` set aside, and where the colour is, as text."""
    from . import analysis

    counts = data.report["counts"]
    out = {f"data.{k}": f"{counts[k]:,}" for k in ("scanned", "kept", "train", "val", "test") if k in counts}
    out["data.source"] = SOURCE_PHRASE
    rejected = {k: v for k, v in counts.get("rejected", {}).items() if v}
    out["data.rejected"] = f"{sum(rejected.values()):,}"
    for reason, n in counts.get("rejected", {}).items():
        out[f"data.rejected.{reason}"] = f"{n:,}"
    out["data.rejected_list"] = listing([f"{n:,} {REASON_NAMES.get(r, (r, r))[n != 1]}" for r, n in rejected.items()]) \
        or "ninguna"
    shares = analysis.chroma_shares(data, "train", (5, 10, 20, 40), max_images=max_images, seed=seed)
    for limit, share in shares.items():
        out[f"colour.below{limit}"] = percent(share)
    counts_h, edges, _ = analysis.hue_histogram(data, "train", bins=36, min_chroma=10, max_images=max_images, seed=seed)
    ranked = sorted(analysis.hue_shares(counts_h, edges).items(), key=lambda kv: kv[1], reverse=True)
    out["colour.hues"] = listing([f"{HUE_NAMES[k]} {percent(v)}" for k, v in ranked])
    for i, (k, v) in enumerate(ranked, 1):
        out[f"colour.hue{i}"] = HUE_NAMES[k]
        out[f"colour.hue{i}_share"] = percent(v)
    return out


__all__ = ["DEFAULT_RATES", "FACTS_MIME", "SHOWCASE_LABELS", "Difference", "Pick", "HUE_NAMES", "HUE_SCENES", "REASON_NAMES",
           "Results", "Run", "SOURCE_PHRASE", "SPLIT_NAMES", "between_groups", "control_facts", "data_facts", "fill",
           "kid_difference", "listing", "missing", "number", "paired", "percent", "publish", "rank_correlation", "rate_facts",
           "result_facts", "results", "run_facts", "run_label", "seen_themes", "selection_facts", "showcase", "signed"]
