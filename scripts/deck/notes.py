"""The speaker notes: Spanish, one entry per slide title in `scripts/presentation_notes.yaml` (its minutes
and what to say), 15 minutes in all; each slide's notes start with its minutes, "(1,5 min)"."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

TOTAL_MINUTES = 15
NOTES_FILE = Path(__file__).parents[1] / "presentation_notes.yaml"


def talk_minutes(titles: list[str], notes: dict) -> list[float]:
    """Each slide's minutes from the notes, rescaled to half minutes adding up to TOTAL_MINUTES when the
    deck's slides are not the ones the notes were written for."""
    weights = [float(notes.get(t, {}).get("minutos", 1)) for t in titles]
    units = 2 * TOTAL_MINUTES
    if sum(weights) == TOTAL_MINUTES and all((2 * w).is_integer() for w in weights):
        return weights
    if len(titles) > units:
        raise ValueError(f"{len(titles)} slides cannot share {TOTAL_MINUTES} minutes in half minutes")
    raw = [w * units / sum(weights) for w in weights]
    halves = [max(1, int(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    k = 0
    while sum(halves) != units:
        i = order[k % len(order)]
        if sum(halves) < units:
            halves[i] += 1
        elif halves[i] > 1:
            halves[i] -= 1
        k += 1
    return [h / 2 for h in halves]


def _minutes_text(minutes: float) -> str:
    return f"({minutes:g} min)".replace(".", ",")


def speaker_notes(titles: list[str], authors: str) -> list[str]:
    """The notes of the slides titled ``titles``, in order; a slide the notes file does not know gets its
    share of the minutes and a generic line (and a warning)."""
    notes = yaml.safe_load(NOTES_FILE.read_text(encoding="utf-8"))
    missing = [t for t in titles if t not in notes]
    if missing:
        print(f"presentation: no notes for {', '.join(map(repr, missing))} in {NOTES_FILE.name}", file=sys.stderr)
    minutes = talk_minutes(titles, notes)
    say = {t: notes[t]["notas"].format(autores=authors) if t in notes else
           "Comente los puntos de la diapositiva." for t in titles}
    return [f"{_minutes_text(m)} {say[t]}" for t, m in zip(titles, minutes)]
