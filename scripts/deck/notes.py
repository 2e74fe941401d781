"""The speaker notes: Spanish, from each slide's entry in `slides.yaml` (who presents it, its minutes and
what to say, with the report's facts filled in), 15 minutes in all, about 5 for each of the three authors;
each slide's notes start with its minutes and its speaker, "(1.5 min · Xander Gallegos)"."""

from __future__ import annotations

import sys
from pathlib import Path

from .report import SLIDES_FILE, fill, read_slides

TOTAL_MINUTES = 15
WORDS_PER_MINUTE = 130  # a calm talk in Spanish
NOTES_FILE = SLIDES_FILE


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


def speakers(notes: dict, authors: str) -> dict[str, float]:
    """Minutes per presenter (``presenta``); every presenter must be one of the report's ``authors``."""
    out: dict[str, float] = {}
    for title, entry in notes.items():
        who = entry.get("presenta", "")
        if who not in authors:
            raise ValueError(f"slide {title!r}: {who!r} presents it, but the report's authors are {authors}")
        out[who] = out.get(who, 0) + float(entry.get("minutos", 1))
    return out


def speaker_notes(titles: list[str], authors: str, facts: dict | None = None, notes_file: Path = NOTES_FILE) -> list[str]:
    """The notes of the slides titled ``titles``, in order, with the report's ``facts`` filled in; a slide the
    slides file does not know gets its share of the minutes and a generic line (and a warning)."""
    notes = read_slides(notes_file)
    missing = [t for t in titles if t not in notes]
    if missing:
        print(f"presentation: no notes for {', '.join(map(repr, missing))} in {notes_file.name}", file=sys.stderr)
    speakers(notes, authors)
    minutes = talk_minutes(titles, notes)
    out = []
    for title, m in zip(titles, minutes):
        entry = notes.get(title, {})
        say = fill(" ".join(entry["notas"].split()), facts or {}, f"notes of {title!r}") if entry else \
            "Comente los puntos de la diapositiva."
        who = entry.get("presenta")
        out.append(f"({m:g} min" + (f" · {who})" if who else ")") + f" {say}")
    return out
