"""The words the deliverables use for numbers: one number convention, Markdown templates filled with a run's
facts, and differences with their spread read as verdicts ("mejor", "peor", "sin diferencia").

``chromatic_charm.story`` re-exports all of it: the notebooks and the deck call ``story.number``,
``story.paired``, ``story.fill``... This module holds the parts that know nothing of the pipeline's runs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from . import stats

# The measures compared photo by photo, and which way is better.
LOWER_IS_BETTER = {"ciede2000": True, "psnr": False, "ssim": False, "fid": True, "kid": True}
_PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
# The output type a notebook's facts are published under (``publish``): the deliverables build reads them to
# fill the notebook's Markdown templates, the deck's and the README's; a reader never sees it (HTML and Jupyter
# show no unknown type).
FACTS_MIME = "application/vnd.chromatic-charm.facts+json"


# --- numbers, one convention ---------------------------------------------------------------------------

def number(x: float, decimals: int = 1) -> str:
    """12345.678 -> '12,345.7': a decimal point and a thousands comma; NaN or None -> 'no calculado'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "no calculado"
    return f"{x:,.{decimals}f}"


def signed(x: float, decimals: int = 2) -> str:
    """-0.8129 -> '-0.81', 0.94 -> '+0.94'."""
    return f"{x:+,.{decimals}f}"


def percent(share: float, decimals: int = 0) -> str:
    """0.605 -> '61%' (a share in [0, 1]; no space before the sign)."""
    return f"{100 * share:,.{decimals}f}%"


def weight(x: float) -> str:
    """A setting such as lambda_L1: 1000 -> '1,000', 0.5 -> '0.5' (the thousands comma of the convention)."""
    x = float(x)
    return f"{x:,.0f}" if x.is_integer() else f"{x:g}"


def listing(items: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b y c'."""
    items = list(items)
    return " y ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def fill(template: str, facts: dict[str, str]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``facts[name]``; a name not in ``facts`` raises a
    KeyError that names it (a template never shows a placeholder to a reader)."""
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name not in facts:
            raise KeyError(f"the template asks for {{{{{name}}}}}, which is not one of the run's facts")
        return str(facts[name])

    return _PLACEHOLDER.sub(one, template)


def missing(template: str, facts: dict[str, str]) -> list[str]:
    """The names ``template`` asks for that ``facts`` lacks, sorted (empty: ``fill`` will fill it)."""
    return sorted({name for name in _PLACEHOLDER.findall(template) if name not in facts})


def publish(facts: dict[str, str]) -> None:
    """Show ``facts`` to the deliverables build from a notebook cell (nothing a reader sees)."""
    from IPython.display import display

    # an empty text/plain beside it: a notebook viewer that does not know the facts' type shows nothing, not a
    # "no renderer" notice
    display({FACTS_MIME: {k: str(v) for k, v in facts.items()}, "text/plain": ""}, raw=True)


# --- differences with their spread ---------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """A minus B on one measure, with the interval of its spread; ``verdict`` reads it for A."""

    measure: str
    value: float
    low: float
    high: float
    lower_is_better: bool
    spread: float | None = None  # KID: the threshold of select's rule; the interval is value ± spread

    @property
    def verdict(self) -> str:
        """'mejor', 'peor' or 'sin diferencia' (the interval holds zero) for A against B."""
        if self.low <= 0 <= self.high:
            return "sin diferencia"
        return "mejor" if (self.high < 0) == self.lower_is_better else "peor"

    def text(self, decimals: int = 2, threshold: str = "umbral") -> str:
        """'-0.12 [-0.40, +0.15]' (a bootstrap interval); a KID difference, '-0.0028 (umbral ±0.0030)' (its rule's
        threshold, not an interval: ``threshold`` names it, 'threshold' in English)."""
        if self.spread is not None:
            return f"{signed(self.value, decimals)} ({threshold} ±{number(self.spread, decimals)})"
        return f"{signed(self.value, decimals)} [{signed(self.low, decimals)}, {signed(self.high, decimals)}]"


def paired(a, b, measure: str, *, resamples: int = stats.BOOTSTRAP_RESAMPLES) -> Difference:
    """Per-photo values of two colourisers on the same photos -> A minus B with the bootstrap interval of
    the mean over photos (``stats.bootstrap_interval``)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{measure}: {a.shape} and {b.shape} are not the same photos")
    if measure.startswith("psnr"):
        from .views import PSNR_CAP

        a, b = np.minimum(a, PSNR_CAP), np.minimum(b, PSNR_CAP)
    interval = stats.bootstrap_interval(a - b, resamples=resamples)
    return Difference(measure, interval.value, interval.low, interval.high,
                      LOWER_IS_BETTER.get(measure.split("_")[0], False))


def between_groups(a, b, measure: str, *, resamples: int = stats.BOOTSTRAP_RESAMPLES) -> Difference:
    """Per-photo values of two different groups of photos (say, test photos with and without a relative in the
    training split) -> the mean of A minus the mean of B with an unpaired bootstrap interval
    (95%, each group resampled on its own); ``verdict`` reads it with ``measure``'s direction."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 1 or b.ndim != 1 or len(a) < 2 or len(b) < 2:
        raise ValueError(f"{measure}: need two groups of at least 2 photos each, got shapes {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"{measure}: a per-photo value is not finite")
    # each group resampled on its own (the photos are not the same), with the draws of stats' paired bootstrap
    means = [stats._draws(len(g), resamples, seed) @ g / len(g) for seed, g in enumerate((a, b))]
    interval = stats._percentiles(means[0] - means[1], float(a.mean() - b.mean()))
    return Difference(measure, interval.value, interval.low, interval.high,
                      LOWER_IS_BETTER.get(measure.split("_")[0], False))




def kid_difference(a: float, a_std: float, b: float, b_std: float) -> Difference:
    """KID A minus KID B, its spread ``selection.kid_spread`` (twice the combined standard deviation over subsets,
    the rule `select` reads KID by): 'sin diferencia' when the gap is within it."""
    from .selection import kid_spread

    spread = kid_spread(a_std, b_std)
    return Difference("kid", a - b, a - b - spread, a - b + spread, True, spread)
