"""Drawing primitives: styled text, text boxes, boxes with centred text, rectangles, arrows, pictures fitted
to a box, groups, and sending a shape to the back. Every colour and size is set explicitly, nothing is left
to the template's theme."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pptx.dml.color import RGBColor
from pptx.enum.dml import MSO_LINE
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from .design import CARD, FONT, LABEL_PT, MUTED, TEXT, Box


def style_run(run, size: float, bold: bool = False, color: RGBColor = TEXT):
    run.font.name, run.font.size, run.font.bold, run.font.italic = FONT, Pt(size), bold, False
    run.font.color.rgb = color


def fill_frame(frame, lines, size: float, bold: bool = False, color: RGBColor = TEXT,
               align=PP_ALIGN.LEFT, anchor=MSO_ANCHOR.TOP, margin: int = Inches(0.05), space_after: float = 0):
    """``lines``: strings, or (text, size, bold, colour) tuples for a paragraph of its own style."""
    frame.word_wrap, frame.auto_size, frame.vertical_anchor = True, MSO_AUTO_SIZE.NONE, anchor
    frame.margin_left = frame.margin_right = frame.margin_top = frame.margin_bottom = margin
    for i, line in enumerate(lines):
        text, psize, pbold, pcolor = line if isinstance(line, tuple) else (line, size, bold, color)
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.alignment = align
        paragraph.space_after = Pt(space_after)
        run = paragraph.add_run()
        run.text = text
        style_run(run, psize, pbold, pcolor)


def add_text(shapes, box: Box, lines, size: float = LABEL_PT, name: str | None = None, **style):
    shape = shapes.add_textbox(box.left, box.top, box.width, box.height)
    fill_frame(shape.text_frame, lines, size, **style)
    if name:
        shape.name = name
    return shape


def add_node(shapes, box: Box, lines, size: float = LABEL_PT, fill: RGBColor | None = CARD,
             line: RGBColor | None = None, color: RGBColor = TEXT, kind=MSO_SHAPE.ROUNDED_RECTANGLE,
             dashed: bool = False, **style):
    """A shape with centred text: a diagram's box, chip or card."""
    shape = shapes.add_shape(kind, box.left, box.top, box.width, box.height)
    _unstyled(shape)
    if kind == MSO_SHAPE.ROUNDED_RECTANGLE:
        shape.adjustments[0] = 0.12
    if fill is None:
        shape.fill.background()
    else:
        shape.fill.solid()
        shape.fill.fore_color.rgb = fill
    if line is None:
        shape.line.fill.background()
    else:
        shape.line.color.rgb, shape.line.width = line, Pt(2)
        if dashed:
            shape.line.dash_style = MSO_LINE.DASH
    style.setdefault("align", PP_ALIGN.CENTER)
    style.setdefault("anchor", MSO_ANCHOR.MIDDLE)
    fill_frame(shape.text_frame, lines, size, color=color, **style)
    return shape


def _unstyled(shape):
    """Without the theme's style (its shadow, its white text): every colour is set explicitly."""
    style = shape._element.find(qn("p:style"))
    if style is not None:
        shape._element.remove(style)


def add_rect(shapes, box: Box, fill: RGBColor, kind=MSO_SHAPE.RECTANGLE):
    return add_node(shapes, box, [], fill=fill, kind=kind)


def add_arrow(shapes, x1: int, y1: int, x2: int, y2: int, color: RGBColor = MUTED, width: float = 2.25,
              dashed: bool = False, head: bool = True):
    connector = shapes.add_connector(MSO_CONNECTOR.STRAIGHT, x1, y1, x2, y2)
    _unstyled(connector)
    connector.line.color.rgb, connector.line.width = color, Pt(width)
    if dashed:
        connector.line.dash_style = MSO_LINE.DASH
    if head:
        ln = connector.line._get_or_add_ln()
        ln.append(ln.makeelement(qn("a:tailEnd"), {"type": "triangle", "w": "med", "len": "med"}))
    return connector


def _jpeg(image: np.ndarray | Image.Image) -> io.BytesIO:
    image = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=90)
    buffer.seek(0)
    return buffer


def add_picture(shapes, image, box: Box, name: str = "Visual: imagen"):
    """``image`` (PNG bytes, an array or a PIL image) as large as fits in ``box``, centred."""
    if isinstance(image, bytes):
        stream = io.BytesIO(image)
        with Image.open(io.BytesIO(image)) as opened:
            ratio = opened.width / opened.height
    else:
        stream = _jpeg(image)
        size = image.size if isinstance(image, Image.Image) else (image.shape[1], image.shape[0])
        ratio = size[0] / size[1]
    width = min(box.width, int(box.height * ratio))
    height = int(width / ratio)
    picture = shapes.add_picture(stream, box.left + (box.width - width) // 2, box.top + (box.height - height) // 2,
                                 Emu(width), Emu(height))
    picture.name = name
    return picture


def add_group(slide, name: str):
    """A group shape named as a visual (the tests find a slide's visual by that name); its shapes to draw on."""
    group = slide.shapes.add_group_shape()
    group.name = f"Visual: {name}"
    return group.shapes


def to_back(shape):
    """``shape`` drawn first, under every other: index 2 is right after the shape tree's own properties."""
    tree = shape._element.getparent()
    tree.remove(shape._element)
    tree.insert(2, shape._element)
