"""The deck put together: the cover, the contents, one slide per report cell (its bullets beside or above
its visual), the speaker notes, saved in one step."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from chromatic_charm.errors import UserError
from chromatic_charm.files import atomic_path

from .content import CONTENTS, COVER, MAX_BULLETS, visual_for
from .design import (ACCENT, BODY_BOTTOM, BODY_TOP, CARD, FOOTER_PT, FOOTER_TOP, GAP, HEIGHT, INK,
                     LAYOUT_COVER, MARGIN, MIN_BODY_PT, SOFT, TEXT, WHITE, WIDTH, Box)
from .diagrams import visual_emblem
from .layout import (LINE, add_framed_slide, body_placeholder, bullet_size, bullets_height, bullets_width,
                     hue_stripe, lines_needed, put_bullets)
from .notes import speaker_notes
from .outputs import Context, open_outputs, project_of
from .photos import visual_cover
from .report import SLIDES_FILE, Report, SlideSpec, cover_lines, read_report, read_slides
from .shapes import add_node, add_picture, add_rect, add_text, fill_frame, to_back


MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")


def spanish_date(iso: str) -> str:
    """'2026-12-07' -> '7 de diciembre de 2026' ('' for anything else)."""
    try:
        year, month, day = (int(part) for part in iso[:10].split("-"))
        return f"{day} de {MONTHS[month - 1]} de {year}"
    except (ValueError, IndexError):
        return ""


def _cover(deck, report: Report, ctx: Context):
    """The title, the authors and the date of the run in the layout's placeholders on a dark ground, the
    technical run line in the footer, the cover's visual on the right."""
    slide = deck.slides.add_slide(deck.slide_layouts[LAYOUT_COVER])
    background = add_rect(slide.shapes, Box(0, 0, WIDTH, HEIGHT), INK)
    background.name = "Diseño: fondo"
    to_back(background)
    left = Box(MARGIN + Inches(0.1), Inches(0.9), Inches(7.2), Inches(5.6))
    title, authors_box, run_box = left.rows(46, 30, 24, gap=Inches(0.2))
    heading = slide.shapes.title
    heading.left, heading.top, heading.width, heading.height = title.left, title.top, title.width, title.height
    size = next((s for s in (40, 36, 32, 28) if lines_needed(report.title, title.width - Inches(0.1), s, bold=True)
                 * s * LINE <= Emu(title.height).pt - 8), 28)
    fill_frame(heading.text_frame, [report.title], size, bold=True, color=WHITE, anchor=MSO_ANCHOR.BOTTOM)
    hue_stripe(slide.shapes, Box(title.left, title.bottom + Inches(0.05), Inches(4.0), Inches(0.08)))
    _, technical = cover_lines(report.run_line)
    subtitle = body_placeholder(slide)
    subtitle.left, subtitle.top, subtitle.width = authors_box.left, authors_box.top, authors_box.width
    subtitle.height = run_box.bottom - authors_box.top
    day = spanish_date(report.facts.get("run.date", ""))
    lines = [(report.authors, 24, False, WHITE)] + ([(day, 20, False, SOFT)] if day else [])
    fill_frame(subtitle.text_frame, lines, 24, space_after=14)
    if technical:
        add_text(slide.shapes, Box(MARGIN + Inches(0.1), FOOTER_TOP, WIDTH - 2 * MARGIN, Inches(0.4)),
                 [f"Ejecución del pipeline: {technical}"], FOOTER_PT, name="Pie de página", color=SOFT)
    visual_cover(slide, Box(Inches(8.1), Inches(1.0), Inches(4.8), Inches(5.6)), ctx)
    for placeholder in list(slide.placeholders):
        if placeholder.placeholder_format.idx not in (0, 1):
            placeholder._element.getparent().remove(placeholder._element)
    return slide


def talk_parts(entries: list[tuple[str, int]], slides: dict) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """``entries`` (title, slide number) cut into the talk's parts: (name, speaker, entries). A part starts at
    a slide whose entry in the slides file names one (``parte``), or where the speaker changes."""
    parts: list[tuple[str, str, list[tuple[str, int]]]] = []
    for title, number in entries:
        entry = slides.get(title) or {}
        who = entry.get("presenta", "")
        if not parts or entry.get("parte") or who != parts[-1][1]:
            parts.append((entry.get("parte") or f"Parte {len(parts) + 1}", who, []))
        parts[-1][2].append((title, number))
    return parts


def _contents(deck, parts: list[tuple[str, str, list[tuple[str, int]]]]):
    """The talk's parts side by side, one card each: its name and its speaker on a dark header, the numbers of
    its slides, then their titles."""
    slide = add_framed_slide(deck, CONTENTS, 2)
    body = body_placeholder(slide)  # the parts are cards, not one list
    body._element.getparent().remove(body._element)
    area = Box(MARGIN, BODY_TOP + Inches(0.15), WIDTH - 2 * MARGIN, BODY_BOTTOM - BODY_TOP - Inches(0.35))
    columns = area.cols(*[1] * len(parts), gap=Inches(0.3))
    pad = Inches(0.2)
    text_w = columns[0].width - 2 * pad
    head_lines = max(lines_needed(f"{len(parts)}. {name}", text_w, 22, bold=True) + lines_needed(who, text_w, 18)
                     for name, who, _ in parts)
    head_h = Inches(0.3) + int(Pt(head_lines * 21 * LINE).emu)
    card_h = columns[0].height - head_h
    list_top, list_h = Inches(0.6), card_h - Inches(0.75)
    size = next((s for s in (20, 19, 18, 17, 16, 15) if all(
        sum(lines_needed(t, text_w - Inches(0.1), s) for t, _ in items) * s * LINE + (len(items) - 1) * 0.35 * s
        <= Emu(list_h).pt - 12 for _, _, items in parts)), 14)
    for k, ((name, who, items), column) in enumerate(zip(parts, columns), start=1):
        head = Box(column.left, column.top, column.width, head_h)
        card = Box(column.left, head.bottom, column.width, card_h)
        add_rect(slide.shapes, card, CARD).name = f"Contenido: parte {k}"
        add_node(slide.shapes, head, [(f"{k}. {name}", 22, True, WHITE), (who, 18, False, SOFT)], fill=INK,
                 kind=MSO_SHAPE.RECTANGLE, align=PP_ALIGN.LEFT, margin=pad).name = f"Contenido: orador {k}"
        hue_stripe(slide.shapes, Box(head.left, head.bottom, head.width, Inches(0.06)))
        numbers = [n for _, n in items]
        span = f"diapositiva {numbers[0]}" if len(numbers) == 1 else f"diapositivas {numbers[0]} a {numbers[-1]}"
        add_text(slide.shapes, Box(card.left + pad, card.top + Inches(0.15), text_w, Inches(0.4)), [span], 16,
                 bold=True, color=ACCENT, name=f"Contenido: números {k}")
        add_text(slide.shapes, Box(card.left + pad, card.top + list_top, text_w, list_h),
                 [t for t, _ in items], size, color=TEXT, space_after=0.35 * size, name=f"Contenido: diapositivas {k}")
    return slide


def _report_slide(deck, spec: SlideSpec, number: int, ctx: Context):
    """A report cell's slide: its bullets beside its visual ("side") or above it ("stack"); where the visual
    cannot be drawn, the report's figure, else the emblem."""
    slide = add_framed_slide(deck, spec.title, number)
    layout, draw = visual_for(spec.title, ctx, spec.figure)
    body = Box(MARGIN, BODY_TOP, WIDTH - 2 * MARGIN, BODY_BOTTOM - BODY_TOP)
    if not spec.bullets:
        text, visual = None, body
    elif layout == "stack":
        size = min(20, bullet_size(spec.bullets, body.width, int(body.height * 0.4)) or MIN_BODY_PT)
        height = bullets_height(spec.bullets, body.width, size)
        text = Box(body.left, body.top, body.width, height)
        visual = Box(body.left, body.top + height + Inches(0.15), body.width, body.height - height - Inches(0.15))
    else:
        width = bullets_width(spec.bullets, body.height)
        text, visual = body.cols(width, body.width - width - GAP, gap=GAP)
    put_bullets(slide, spec.bullets, text or body, spec.title)
    drawn = False
    if draw is not None:
        try:
            drawn = draw(slide, visual, replace(ctx, spec=spec))
        except (UserError, OSError) as error:
            print(f"presentation: slide {spec.title!r} not redrawn ({error}); the report's figure instead",
                  file=sys.stderr)
    if not drawn and spec.figure:
        add_picture(slide.shapes, spec.figure, visual, name="Visual: figura del informe")
    elif not drawn:
        visual_emblem(slide, visual, ctx)
    return slide


def build_presentation(report_path: Path, out_path: Path, root: Path | None = None,
                       slides_file: Path = SLIDES_FILE) -> int:
    """Write ``out_path`` from the executed report, ``slides_file`` (what each slide says) and the pipeline
    outputs under ``root`` (default: the project the report is in); returns the number of slides."""
    report = read_report(report_path, slides_file)
    if not report.slides:
        raise ValueError("slides.yaml lists no slide: nothing to put on the deck")
    for spec in report.slides:
        if len(spec.bullets) > MAX_BULLETS:
            raise ValueError(f"slide {spec.title!r} has {len(spec.bullets)} bullets, at most {MAX_BULLETS}: "
                             "shorten its entry in scripts/deck/slides.yaml")
    ctx = Context(report, open_outputs(Path(root) if root else project_of(report_path), report))
    titles = [COVER, CONTENTS, *(s.title for s in report.slides)]
    notes = speaker_notes(titles, report.authors, report.facts, slides_file)
    parts_of = read_slides(slides_file)

    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    slides = [_cover(deck, report, ctx)]
    first = {}
    for number, spec in enumerate(report.slides, start=3):
        first.setdefault(spec.title, number)
    slides.append(_contents(deck, talk_parts(list(first.items()), parts_of)))
    for number, spec in enumerate(report.slides, start=3):
        slides.append(_report_slide(deck, spec, number, ctx))
    for slide, text in zip(slides, notes):
        slide.notes_slide.notes_text_frame.text = text

    with atomic_path(out_path) as tmp:
        deck.save(str(tmp))
    return len(deck.slides)
