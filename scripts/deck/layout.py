"""The frame every content slide shares and the text that has to fit in it: how many lines a text wraps to,
how wide and how large the bullets can be; the title bar with the title in the layout's title placeholder,
the hue stripe, the footer, the slide number, and the bullets in the layout's body placeholder."""

from __future__ import annotations

import uuid

from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from .design import (BAR, BODY_PT, FOOTER_PT, FOOTER_TOP, HUES, INK, LABEL_PT, LAYOUT_CONTENT, MARGIN,
                     MIN_BODY_PT, MUTED, TITLE_PT, WHITE, WIDTH, Box)
from .shapes import add_rect, add_text, fill_frame, style_run, to_back

# Text is laid out for LibreOffice's fallback for Calibri, DejaVu Sans, which is wider: what fits there fits
# in PowerPoint too. Its advance widths by kind of character, in em (rounded up: within 6% of the font's).
NARROW, WIDE = set("ijlft.,:;|!'()[]/ r"), set("mw%@MW")
LINE, BOLD = 1.22, 1.1  # line height in em; bold is wider
TEXT_WIDTHS = [Inches(w) for w in (4.6, 5.0, 5.4, 5.8, 6.2, 6.6)]  # the bullets' column beside a visual
BULLET_INDENT = Inches(0.375)  # the template's first level
BULLET_SPACE = 8  # points after a bullet


# --- text that fits -----------------------------------------------------------------------------------------
def _em(text: str) -> float:
    return sum(0.34 if c in NARROW else 0.636 if c.isdigit() else 0.95 if c in WIDE else 0.72 if c.isupper() else 0.62
               for c in text)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` on one line at ``size`` points, in points."""
    return _em(text) * size * (BOLD if bold else 1.0)


def lines_needed(text: str, width: int, size: float, bold: bool = False) -> int:
    """The lines ``text`` wraps to in a frame ``width`` wide (EMU) at ``size`` points."""
    available, scale = Emu(width).pt, size * (BOLD if bold else 1.0)
    lines, current = 1, 0.0
    for word in text.split():
        needed = _em(word) * scale
        if current and current + 0.34 * scale + needed > available:
            lines, current = lines + 1, needed
        else:
            current += needed + (0.34 * scale if current else 0)
    return lines


def bullets_height(bullets: list[str], width: int, size: float) -> int:
    text_width = width - BULLET_INDENT - Inches(0.2)
    lines = sum(lines_needed(b, text_width, size) for b in bullets)
    return int(Pt(lines * size * LINE + len(bullets) * BULLET_SPACE).emu) + Inches(0.15)


def bullets_width(bullets: list[str], height: int) -> int:
    """The narrowest column (the visual gets the rest) where the bullets fit at 20 pt, else at MIN_BODY_PT."""
    narrow = [w for w in TEXT_WIDTHS if w <= Inches(5.4)]
    for size, widths in ((20, narrow), (MIN_BODY_PT, narrow), (MIN_BODY_PT, TEXT_WIDTHS)):
        for width in widths:
            if bullets_height(bullets, width, size) <= height:
                return width
    return TEXT_WIDTHS[-1]


def bullet_size(bullets: list[str], width: int, height: int) -> float | None:
    """The largest body size from BODY_PT down to MIN_BODY_PT at which the bullets fit."""
    for size in range(BODY_PT, MIN_BODY_PT - 1, -1):
        if bullets_height(bullets, width, size) <= height:
            return size
    return None


# --- the frame ----------------------------------------------------------------------------------------------
def _slide_number(slide, number: int):
    """A slide-number field (PowerPoint renumbers it), showing ``number`` until it does."""
    box = add_text(slide.shapes, Box(WIDTH - MARGIN - Inches(1.0), FOOTER_TOP, Inches(1.0), Inches(0.4)), [""],
                   LABEL_PT, name="Número de diapositiva", color=MUTED, align=PP_ALIGN.RIGHT)
    paragraph = box.text_frame.paragraphs[0]._p
    run = paragraph.find(qn("a:r"))
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"slide{number}")).upper()  # the same deck gives the same XML
    field_ = paragraph.makeelement(qn("a:fld"), {"id": f"{{{guid}}}", "type": "slidenum"})
    field_.append(run.find(qn("a:rPr")))
    text = field_.makeelement(qn("a:t"), {})
    text.text = str(number)
    field_.append(text)
    paragraph.replace(run, field_)


def _footer(slide, text: str):
    add_text(slide.shapes, Box(MARGIN, FOOTER_TOP, Inches(8.0), Inches(0.4)), [text], FOOTER_PT, name="Pie de página",
             color=MUTED)


def hue_stripe(shapes, box: Box):
    for part, colour in zip(box.cols(*[1] * 12), HUES):
        width = min(part.width + Emu(1270), box.right - part.left)  # overlapping a hair: no gap between colours
        add_rect(shapes, Box(part.left, part.top, width, part.height), colour).name = "Diseño: franja"


def add_framed_slide(deck, title: str, number: int):
    """A slide of the deck's design: title bar (the title in the layout's title placeholder), hue stripe,
    footer and slide number. Its body placeholder is left for the bullets."""
    slide = deck.slides.add_slide(deck.slide_layouts[LAYOUT_CONTENT])
    bar = add_rect(slide.shapes, Box(0, 0, WIDTH, BAR), INK)
    bar.name = "Diseño: barra de título"
    hue_stripe(slide.shapes, Box(0, BAR, WIDTH, Inches(0.07)))
    for shape in list(slide.shapes)[::-1]:
        if shape.name.startswith("Diseño"):
            to_back(shape)
    heading = slide.shapes.title
    heading.left, heading.top = MARGIN, Inches(0.08)
    heading.width, heading.height = WIDTH - 2 * MARGIN, BAR - Inches(0.16)
    fill_frame(heading.text_frame, [title], TITLE_PT, bold=True, color=WHITE, anchor=MSO_ANCHOR.MIDDLE)
    _footer(slide, "Chromatic Charm · colorización con pix2pix")
    _slide_number(slide, number)
    return slide


def body_placeholder(slide):
    return next(s for s in slide.placeholders if s.placeholder_format.idx == 1)


def put_bullets(slide, bullets: list[str], box: Box, title: str):
    """The bullets in the body placeholder, placed on ``box``, at the largest size that fits (else an error
    naming the slide); without bullets the placeholder is removed, not left empty."""
    body = body_placeholder(slide)
    if not bullets:
        body._element.getparent().remove(body._element)
        return
    size = bullet_size(bullets, box.width, box.height)
    if size is None:
        raise ValueError(f"slide {title!r}: its bullets do not fit at {MIN_BODY_PT} pt in "
                         f"{Emu(box.width).inches:.1f} x {Emu(box.height).inches:.1f} in: shorten them in the report")
    body.left, body.top, body.width, body.height = box.left, box.top, box.width, box.height
    frame = body.text_frame
    frame.word_wrap, frame.auto_size, frame.vertical_anchor = True, MSO_AUTO_SIZE.NONE, MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = Inches(0.1)
    frame.margin_top = frame.margin_bottom = Inches(0.05)
    for i, bullet in enumerate(bullets):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.space_after, paragraph.space_before = Pt(BULLET_SPACE), Pt(0)
        paragraph.line_spacing = 1.0
        run = paragraph.add_run()
        run.text = bullet
        style_run(run, size)
