"""The deck's look: the slide's size and regions, the type sizes, the colours (the L*a*b* hues among them),
and `Box`, the rectangle (in EMU) that every layout is cut from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches

from chromatic_charm import analysis

WIDTH, HEIGHT = Emu(12192000), Emu(6858000)  # 13.33 x 7.5 in, 16:9
MARGIN = Inches(0.5)
BAR = Inches(1.0)  # the title bar
BODY_TOP = Inches(1.35)
BODY_BOTTOM = Inches(6.95)
FOOTER_TOP = Inches(7.02)
GAP = Inches(0.3)
FONT = "Calibri"
TITLE_PT, BODY_PT, MIN_BODY_PT, LABEL_PT, FOOTER_PT = 32, 22, 18, 14, 12
INK = RGBColor(0x22, 0x1A, 0x38)  # title bar, headings
ACCENT = RGBColor(0x8A, 0x3F, 0xB8)  # the champion, highlights
TEXT = RGBColor(0x26, 0x26, 0x2E)
MUTED = RGBColor(0x6B, 0x6B, 0x78)
CARD = RGBColor(0xEE, 0xEA, 0xF4)
SOFT = RGBColor(0xB9, 0xB4, 0xC4)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
LAYOUT_COVER, LAYOUT_CONTENT = 0, 1  # python-pptx's default template: "Title Slide", "Title and Content"


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    def inset(self, dx: int = 0, dy: int = 0) -> Box:
        return Box(self.left + dx, self.top + dy, self.width - 2 * dx, self.height - 2 * dy)

    def rows(self, *fractions: float, gap: int = 0) -> list[Box]:
        """The box cut top to bottom in parts proportional to ``fractions``, ``gap`` between them."""
        free = self.height - gap * (len(fractions) - 1)
        boxes, top = [], self.top
        for f in fractions:
            height = int(free * f / sum(fractions))
            boxes.append(Box(self.left, top, self.width, height))
            top += height + gap
        return boxes

    def cols(self, *fractions: float, gap: int = 0) -> list[Box]:
        free = self.width - gap * (len(fractions) - 1)
        boxes, left = [], self.left
        for f in fractions:
            width = int(free * f / sum(fractions))
            boxes.append(Box(left, self.top, width, self.height))
            left += width + gap
        return boxes


def rgb(values) -> RGBColor:
    return RGBColor(*(int(round(255 * float(v))) for v in values[:3]))


HUES = [rgb(c) for c in analysis.hue_colours(np.linspace(0.0, 360.0, 13), lightness=60.0, chroma=55.0)]
