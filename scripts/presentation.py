"""The slide deck (`Informe Escrito/presentacion.pptx`, 16:9) from the executed report
(`Informe Escrito/RafaelJuarez.ipynb`) and the pipeline outputs it was executed on.

    python scripts/presentation.py [REPORT [DECK [ROOT]]]

REPORT defaults to `Informe Escrito/RafaelJuarez.ipynb`, DECK to `Informe Escrito/presentacion.pptx`, ROOT (the
project whose `dvc.lock`, `metrics/`, `Data/Clean Data/` and MLflow store the report was executed on) to the
project the report is in.

What the report says is the deck's contract:
- the first `# ` heading is the cover's title, the cell tagged `autores` its authors, and the code output
  that starts with `**Ejecución del pipeline` names the run (a short line of it on the cover, the
  `dvc.lock` hash only in the small footer);
- each cell tagged `diapositiva` is one slide: its title is the cell's metadata `slide_title` (else its
  section's heading), its bullets the markdown list of the cell or of what it displayed (at most 6);
- a cell tagged `figura` gives its last image to the following `diapositiva` cells of its section (a `## `
  or `### ` heading starts a new section).

The deck: a cover, "Contenido" (the slide titles, each with its slide number), then one slide per
`diapositiva` cell, 18 in all for the report's 16 slide cells. Every slide has the same design (a title bar
with the title in the layout's title placeholder, a stripe of L*a*b* hues, the slide number) and a visual
beside or under its bullets: the U-Net and conditional PatchGAN drawn with shapes ("Planteamiento del
problema"), the DVC pipeline from the raw photos to the API ("Dataset final"), native charts redrawn at the
slide's size from the pipeline's outputs (the hue of the data, the losses, FID and KID per run), the
colourisations large (photos through the shipped ONNX model, as the report does), tables of the key
numbers, and diagrams for the rest. The redrawing needs the outputs of the very run the report shows:
where `dvc.lock` says otherwise, the report's own figures are used as they are. A slide without any
figure still gets a visual of its own. The speaker notes (Spanish, 15 minutes in all, each starting with
its minutes) are in `presentation_notes.yaml`, next to this script.

Nothing here types a number that the report or the pipeline computes.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import re
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from pptx import Presentation
from pptx.chart.data import CategoryChartData, XyChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_TICK_LABEL_POSITION
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from chromatic_charm import analysis, reporting
from chromatic_charm.config import ENV_ROOT, project_root
from chromatic_charm.errors import UserError, first_line
from chromatic_charm.files import atomic_path

# --- design ---------------------------------------------------------------------------------------------
WIDTH, HEIGHT = Emu(12192000), Emu(6858000)  # 13.33 x 7.5 in, 16:9
MARGIN = Inches(0.5)
BAR = Inches(1.0)  # the title bar
BODY_TOP = Inches(1.35)
BODY_BOTTOM = Inches(6.95)
FOOTER_TOP = Inches(7.02)
GAP = Inches(0.3)
TEXT_WIDTHS = [Inches(w) for w in (4.6, 5.0, 5.4, 5.8, 6.2, 6.6)]  # the bullets' column beside a visual
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

COVER, CONTENTS = "Portada", "Contenido"
MAX_BULLETS = 6
TOTAL_MINUTES = 15
NOTES_FILE = Path(__file__).with_name("presentation_notes.yaml")
# Text is laid out for LibreOffice's fallback for Calibri, DejaVu Sans, which is wider: what fits there fits
# in PowerPoint too. Its advance widths by kind of character, in em (rounded up: within 6% of the font's).
NARROW, WIDE = set("ijlft.,:;|!'()[]/ r"), set("mw%@MW")
LINE, BOLD = 1.22, 1.1  # line height in em; bold is wider


# --- the report -------------------------------------------------------------------------------------------
@dataclass
class SlideSpec:
    title: str
    bullets: list[str]
    figure: bytes | None = None  # the report's figure for it (PNG)


@dataclass
class Report:
    title: str = ""
    authors: str = ""
    run_line: str = ""  # the "Ejecución del pipeline" output, plain text
    parameters: dict = field(default_factory=dict)
    slides: list[SlideSpec] = field(default_factory=list)
    references: list[tuple[int, str, str]] = field(default_factory=list)  # (year, first author, title)

    @property
    def lock(self) -> str | None:
        """The `dvc.lock` hash of the run the report was executed on."""
        found = re.search(r"dvc\.lock\s+([0-9a-f]{12})", self.run_line)
        return found.group(1) if found else None


def _plain(text: str) -> str:
    """Markdown inline marks removed: **bold**, *italic*, `code`, escaped stars, links."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = text.replace("\\*", "\u2217").replace("**", "").replace("`", "")
    text = re.sub(r"(?<!\w)\*([^*]+)\*(?!\w)", r"\1", text)
    return text.replace("\u2217", "*").strip()


def _heading(text: str) -> str:
    """A section heading without its number: '6.1 Análisis' -> 'Análisis'."""
    return re.sub(r"^\d+(\.\d+)*\.?\s+", "", _plain(text))


def _cell_text(cell: dict) -> str:
    if cell["cell_type"] == "markdown":
        return "".join(cell["source"])
    return "\n".join("".join(o.get("data", {}).get("text/markdown", "")) for o in cell.get("outputs", []))


def _prose_lines(text: str):
    """The lines of a markdown text outside its fenced code blocks."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            yield line


def _bullets(text: str) -> list[str]:
    items = []
    for line in _prose_lines(text):
        if re.match(r"\s*[-*] ", line):
            items.append(line.lstrip()[2:])
        elif items and line.strip():
            items[-1] += " " + line.strip()
        elif items:
            items.append(None)  # a blank line ends an item
    return [_plain(item) for item in items if item]


def _last_image(cell: dict) -> bytes | None:
    images = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    return base64.b64decode(images[-1]) if images else None


def _assignments(source: str) -> dict:
    """`name = literal` lines of a parameters cell."""
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


REFERENCE = re.compile(r"^- (?P<authors>[^(]+?)\s*\((?P<year>\d{4})\)\.\s*\*(?P<title>[^*]+)\*")


def read_report(path: Path) -> Report:
    """What the deck takes from the executed report (see the module docstring)."""
    report, section, figure = Report(), "", None
    for cell in json.loads(Path(path).read_text())["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        text = _cell_text(cell)
        if cell["cell_type"] == "markdown":
            for line in _prose_lines(text):
                if line.startswith("# ") and not report.title:
                    report.title = _plain(line[2:])
                elif line.startswith(("## ", "### ")):
                    section, figure = _heading(line.split(" ", 1)[1]), None
                elif (found := REFERENCE.match(line)) and "diapositiva" not in tags:
                    report.references.append((int(found["year"]), found["authors"].split(",")[0].strip(),
                                              _plain(found["title"])))
        if cell["cell_type"] == "code" and {"parameters", "injected-parameters"} & set(tags):
            report.parameters.update(_assignments("".join(cell["source"])))
        if "autores" in tags:
            first = _plain(text.strip().split("\n\n")[0])
            report.authors = re.sub(r"^Autores?:\s*", "", first).rstrip(".")
        for output in cell.get("outputs", []):
            markdown = "".join(output.get("data", {}).get("text/markdown", ""))
            if markdown.startswith("**Ejecución del pipeline"):
                report.run_line = _plain(markdown)
        if "figura" in tags:
            figure = _last_image(cell) or figure
        if "diapositiva" in tags:
            title = _heading(cell["metadata"].get("slide_title") or section)
            report.slides.append(SlideSpec(title, _bullets(text), figure))
    return report


def _cover_lines(run_line: str) -> tuple[str, str]:
    """(the cover's short line, the footer's small line) from the report's run line: the MLflow runs,
    the champion and the export date in the first; the dvc.lock hash and the data version in the second."""
    body = re.sub(r"^Ejecución del pipeline[^:]*:\s*", "", run_line).rstrip(".")
    parts = [p.strip() for p in body.split(";") if p.strip()]
    technical = [p for p in parts if p.startswith(("dvc.lock", "datos"))]
    short = [re.sub(r"\s*\((corrida|versión) [^)]*\)", "", p) for p in parts if p not in technical]
    return " · ".join(short), " · ".join(technical)


# --- the pipeline's outputs -------------------------------------------------------------------------------
@contextmanager
def _project(root: Path):
    """MLflow's local store and the data are found from the project root (config.project_root)."""
    before = os.environ.get(ENV_ROOT)
    os.environ[ENV_ROOT] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_ROOT, None)
        else:
            os.environ[ENV_ROOT] = before


class Outputs:
    """The pipeline outputs of the run the report shows (`root`'s dvc.lock is the one the report names):
    the numbers and photos that the slides redraw at their own size, computed as the report computes them."""

    def __init__(self, root: Path, report: Report):
        self.root, self.report = root, report

    @cached_property
    def results(self) -> dict:
        return reporting.pipeline_results(self.root)

    @cached_property
    def data(self):
        return analysis.load_clean(self.root / "Data" / "Clean Data")

    @cached_property
    def runs(self):
        ids = [e["run_id"] for e in self.results["evaluations"].values()]
        with _project(self.root):
            return reporting.runs_frame(self.results["params"]["train"]["experiment"], run_ids=ids)

    @property
    def champion_metrics(self) -> dict:
        champion = self.results["champion"]["run_id"]
        return next(e["metrics"] for e in self.results["evaluations"].values() if e["run_id"] == champion)

    def histories(self) -> dict:
        with _project(self.root):
            return {f"{_sci(r.lr_G)} / {_sci(r.lr_D)}": reporting.loss_history(r.run_id)
                    for r in self.runs.itertuples()}

    @cached_property
    def samples(self) -> list[np.ndarray]:
        """[gray, colourised, real, ...] of the report's test photos (its `num_examples`, seed 0)."""
        images, _ = analysis.split_samples(self.data, "test", n=self.report.parameters.get("num_examples", 6), seed=0)
        return reporting.colourise_examples(self.results["model_path"], images)

    @cached_property
    def closeup(self) -> dict:
        """The report's close-up example: its first test photo whole and its middle ninth, colourised on its own."""
        images, _ = analysis.split_samples(self.data, "test", n=self.report.parameters.get("num_examples", 6), seed=0)
        return reporting.closeup_example(self.results["model_path"], images[0])

    @cached_property
    def api_truth(self) -> np.ndarray:
        """The report's API example: the first test photo at its full size, in colour."""
        index = self.data.index
        photo = self.root / self.data.report["root"] / index[index["split"] == "test"]["source"].iloc[0]
        return np.asarray(Image.open(photo).convert("RGB"))

    @cached_property
    def colorizer(self):
        """The exported model, as the API serves it (loaded once for the deck)."""
        from chromatic_charm.inference import Colorizer

        return Colorizer(self.results["model_path"])

    @cached_property
    def api_photo(self) -> tuple[np.ndarray, np.ndarray]:
        """(gray, colourised) of the report's API example."""
        gray = np.asarray(Image.fromarray(self.api_truth).convert("L").convert("RGB"))
        return gray, self.colorizer.colorize_rgb(gray)

    @cached_property
    def hints_photo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(without hints, with the report's hints and their rings, truth) of the report's API example."""
        gray, colour = self.api_photo
        hints = reporting.random_hints(self.api_truth)
        hinted = self.colorizer.colorize_rgb(gray, hints)
        return colour, reporting.mark_hints(hinted, hints), self.api_truth


def project_of(report_path: Path) -> Path:
    """The DVC project a report lives in (the folder above it with dvc.yaml), else the configured root."""
    for folder in Path(report_path).resolve().parents:
        if (folder / "dvc.yaml").is_file() and (folder / "params.yaml").is_file():
            return folder
    return project_root()


def open_outputs(root: Path, report: Report) -> Outputs | None:
    """The outputs of the report's run under ``root``, or None (the report's own figures are used as they
    are) when ``root``'s dvc.lock is another run's, or the run's outputs are not on this machine (a fresh
    clone: `Data/Clean Data` and the MLflow store come from `dvc repro` or `dvc pull`, not from git)."""
    lock = reporting.dvc_lock_hash(root)
    if not (report.lock and lock == report.lock):
        print(f"presentation: {root}'s dvc.lock ({lock}) is not the report's ({report.lock}): the report's own "
              "figures are used as they are, nothing is redrawn", file=sys.stderr)
        return None
    outputs = Outputs(root, report)
    try:
        outputs.data
        if not len(outputs.runs):
            raise UserError("the MLflow store holds none of the run's evaluated runs")
    except (UserError, OSError, KeyError) as exc:
        print(f"presentation: the outputs of the report's run are not all here ({first_line(exc)}): the report's "
              "own figures are used as they are, nothing is redrawn", file=sys.stderr)
        return None
    return outputs


def _run_label(run) -> str:
    return f"lr_G {run.lr_G:g} / lr_D {run.lr_D:g}"


def _sci(value: float) -> str:
    """3e-4 rather than 0.0003, for a legend."""
    mantissa, exponent = f"{value:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


# --- drawing primitives -----------------------------------------------------------------------------------
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


def _rgb(values) -> RGBColor:
    return RGBColor(*(int(round(255 * float(v))) for v in values[:3]))


HUES = [_rgb(c) for c in analysis.hue_colours(np.linspace(0.0, 360.0, 13), lightness=60.0, chroma=55.0)]


def _style(run, size: float, bold: bool = False, color: RGBColor = TEXT):
    run.font.name, run.font.size, run.font.bold, run.font.italic = FONT, Pt(size), bold, False
    run.font.color.rgb = color


def _fill_frame(frame, lines, size: float, bold: bool = False, color: RGBColor = TEXT,
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
        _style(run, psize, pbold, pcolor)


def _text(shapes, box: Box, lines, size: float = LABEL_PT, name: str | None = None, **style):
    shape = shapes.add_textbox(box.left, box.top, box.width, box.height)
    _fill_frame(shape.text_frame, lines, size, **style)
    if name:
        shape.name = name
    return shape


def _node(shapes, box: Box, lines, size: float = LABEL_PT, fill: RGBColor | None = CARD,
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
            shape.line.dash_style = 4  # MSO_LINE.DASH
    style.setdefault("align", PP_ALIGN.CENTER)
    style.setdefault("anchor", MSO_ANCHOR.MIDDLE)
    _fill_frame(shape.text_frame, lines, size, color=color, **style)
    return shape


def _unstyled(shape):
    """Without the theme's style (its shadow, its white text): every colour is set explicitly."""
    style = shape._element.find(qn("p:style"))
    if style is not None:
        shape._element.remove(style)


def _rect(shapes, box: Box, fill: RGBColor, kind=MSO_SHAPE.RECTANGLE):
    return _node(shapes, box, [], fill=fill, kind=kind)


def _arrow(shapes, x1: int, y1: int, x2: int, y2: int, color: RGBColor = MUTED, width: float = 2.25,
           dashed: bool = False, head: bool = True):
    connector = shapes.add_connector(MSO_CONNECTOR.STRAIGHT, x1, y1, x2, y2)
    _unstyled(connector)
    connector.line.color.rgb, connector.line.width = color, Pt(width)
    if dashed:
        connector.line.dash_style = 4
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


def _picture(shapes, image, box: Box, name: str = "Visual: imagen"):
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


def _group(slide, name: str):
    group = slide.shapes.add_group_shape()
    group.name = f"Visual: {name}"
    return group.shapes


# --- text that fits -----------------------------------------------------------------------------------------
def _em(text: str) -> float:
    return sum(0.34 if c in NARROW else 0.636 if c.isdigit() else 0.95 if c in WIDE else 0.72 if c.isupper() else 0.62
               for c in text)


def _lines_needed(text: str, width: int, size: float, bold: bool = False) -> int:
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


BULLET_INDENT = Inches(0.375)  # the template's first level
BULLET_SPACE = 8  # points after a bullet


def _bullets_height(bullets: list[str], width: int, size: float) -> int:
    text_width = width - BULLET_INDENT - Inches(0.2)
    lines = sum(_lines_needed(b, text_width, size) for b in bullets)
    return int(Pt(lines * size * LINE + len(bullets) * BULLET_SPACE).emu) + Inches(0.15)


def _text_width(bullets: list[str], height: int) -> int:
    """The narrowest column (the visual gets the rest) where the bullets fit at 20 pt, else at MIN_BODY_PT."""
    narrow = [w for w in TEXT_WIDTHS if w <= Inches(5.4)]
    for size, widths in ((20, narrow), (MIN_BODY_PT, narrow), (MIN_BODY_PT, TEXT_WIDTHS)):
        for width in widths:
            if _bullets_height(bullets, width, size) <= height:
                return width
    return TEXT_WIDTHS[-1]


def _bullet_size(bullets: list[str], width: int, height: int) -> float | None:
    """The largest body size from BODY_PT down to MIN_BODY_PT at which the bullets fit."""
    for size in range(BODY_PT, MIN_BODY_PT - 1, -1):
        if _bullets_height(bullets, width, size) <= height:
            return size
    return None


# --- one slide --------------------------------------------------------------------------------------------
def _to_back(shape):
    tree = shape._element.getparent()
    tree.remove(shape._element)
    tree.insert(2, shape._element)


def _slide_number(slide, number: int):
    box = _text(slide.shapes, Box(WIDTH - MARGIN - Inches(1.0), FOOTER_TOP, Inches(1.0), Inches(0.4)), [""],
                LABEL_PT, name="Número de diapositiva", color=MUTED, align=PP_ALIGN.RIGHT)
    paragraph = box.text_frame.paragraphs[0]._p
    run = paragraph.find(qn("a:r"))
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"slide{number}")).upper()
    field_ = paragraph.makeelement(qn("a:fld"), {"id": f"{{{guid}}}", "type": "slidenum"})
    field_.append(run.find(qn("a:rPr")))
    text = field_.makeelement(qn("a:t"), {})
    text.text = str(number)
    field_.append(text)
    paragraph.replace(run, field_)


def _footer(slide, text: str):
    _text(slide.shapes, Box(MARGIN, FOOTER_TOP, Inches(8.0), Inches(0.4)), [text], FOOTER_PT, name="Pie de página",
          color=MUTED)


def _hue_stripe(shapes, box: Box):
    for part, colour in zip(box.cols(*[1] * 12), HUES):
        width = min(part.width + Emu(1270), box.right - part.left)  # overlapping a hair: no gap between colours
        _rect(shapes, Box(part.left, part.top, width, part.height), colour).name = "Diseño: franja"


def _content_slide(deck, title: str, number: int):
    """A slide of the deck's design: title bar (the title in the layout's title placeholder), hue stripe,
    footer and slide number. Its body placeholder is left for the bullets."""
    slide = deck.slides.add_slide(deck.slide_layouts[LAYOUT_CONTENT])
    bar = _rect(slide.shapes, Box(0, 0, WIDTH, BAR), INK)
    bar.name = "Diseño: barra de título"
    _hue_stripe(slide.shapes, Box(0, BAR, WIDTH, Inches(0.07)))
    for shape in list(slide.shapes)[::-1]:
        if shape.name.startswith("Diseño"):
            _to_back(shape)
    heading = slide.shapes.title
    heading.left, heading.top = MARGIN, Inches(0.08)
    heading.width, heading.height = WIDTH - 2 * MARGIN, BAR - Inches(0.16)
    _fill_frame(heading.text_frame, [title], TITLE_PT, bold=True, color=WHITE, anchor=MSO_ANCHOR.MIDDLE)
    _footer(slide, "Chromatic Charm · colorización con pix2pix")
    _slide_number(slide, number)
    return slide


def _body(slide):
    return next(s for s in slide.placeholders if s.placeholder_format.idx == 1)


def _put_bullets(slide, bullets: list[str], box: Box, title: str):
    body = _body(slide)
    if not bullets:
        body._element.getparent().remove(body._element)
        return
    size = _bullet_size(bullets, box.width, box.height)
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
        _style(run, size)


# --- charts -------------------------------------------------------------------------------------------------
def _chart_text(chart, title: str | None):
    chart.font.name, chart.font.size, chart.font.color.rgb = FONT, Pt(LABEL_PT), TEXT
    chart.has_title = bool(title)
    if title:
        frame = chart.chart_title.text_frame
        frame.text = title
        _style(frame.paragraphs[0].runs[0], LABEL_PT + 2, bold=True, color=INK)


def _axis(axis, size: float = LABEL_PT, title: str | None = None, gridlines: bool = False,
          number_format: str | None = None):
    axis.tick_labels.font.size, axis.tick_labels.font.name = Pt(size), FONT
    axis.has_major_gridlines = gridlines
    if gridlines:
        axis.major_gridlines.format.line.color.rgb = RGBColor(0xDD, 0xDA, 0xE3)
    if number_format:
        axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = number_format, False
    if title:
        axis.has_title = True
        axis.axis_title.text_frame.text = title
        _style(axis.axis_title.text_frame.paragraphs[0].runs[0], size)
    axis.format.line.color.rgb = SOFT


def _bar_chart(shapes, box: Box, categories, values, colours, title: str, number_format: str,
               horizontal: bool = True, value_title: str | None = None):
    data = CategoryChartData(number_format=number_format)
    data.categories = categories
    data.add_series(title, [float(v) for v in values])
    kind = XL_CHART_TYPE.BAR_CLUSTERED if horizontal else XL_CHART_TYPE.COLUMN_CLUSTERED
    frame = shapes.add_chart(kind, box.left, box.top, box.width, box.height, data)
    frame.name = f"Visual: gráfica {title}"
    chart = frame.chart
    _chart_text(chart, title)
    chart.has_legend = False
    plot = chart.plots[0]
    plot.gap_width, plot.vary_by_categories = 45, False
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.font.size, labels.font.name, labels.number_format_is_linked = Pt(LABEL_PT), FONT, False
    labels.number_format, labels.position = number_format, XL_LABEL_POSITION.OUTSIDE_END
    for point, colour in zip(plot.series[0].points, colours):
        point.format.fill.solid()
        point.format.fill.fore_color.rgb = colour
    _axis(chart.category_axis)
    chart.category_axis.reverse_order = horizontal  # the first category on top
    _axis(chart.value_axis, title=value_title, number_format=number_format)
    chart.value_axis.visible = not horizontal
    chart.value_axis.maximum_scale = float(max(values)) * (1.3 if horizontal else 1.18)
    chart.value_axis.minimum_scale = 0.0
    if horizontal:
        chart.value_axis.tick_label_position = XL_TICK_LABEL_POSITION.NONE
    return chart


def _line_chart(shapes, box: Box, series: dict, title: str, x_title: str, colours):
    data = XyChartData()
    for label, points in series.items():
        added = data.add_series(label)
        for x, y in points:
            added.add_data_point(float(x), float(y))
    frame = shapes.add_chart(XL_CHART_TYPE.XY_SCATTER_LINES_NO_MARKERS, box.left, box.top, box.width, box.height, data)
    frame.name = f"Visual: gráfica {title}"
    chart = frame.chart
    _chart_text(chart, title)
    chart.has_legend = False  # one legend for the charts side by side, drawn by the caller
    for plotted, colour in zip(chart.plots[0].series, colours):
        plotted.smooth = False
        plotted.format.line.color.rgb, plotted.format.line.width = colour, Pt(2.5)
    _axis(chart.category_axis, title=x_title, number_format="0")
    _axis(chart.value_axis, gridlines=True, number_format="0.0##")
    values = [y for points in series.values() for _, y in points]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    bottom = 0.0 if 0 <= low < high / 2 else _nice(low - pad, False)
    chart.value_axis.minimum_scale, chart.value_axis.maximum_scale = bottom, _nice(high + pad, True)
    _plot_layout(chart, Emu(box.width).inches, Emu(box.height).inches)
    return chart


def _plot_layout(chart, width: float, height: float):
    """The plot area placed explicitly (LibreOffice's automatic layout squeezes it): room for the
    title above, the value labels on the left, the tick labels and the axis title below."""
    x, y = 0.85 / width, 0.45 / height
    layout = chart._chartSpace.chart.plotArea.find(qn("c:layout"))
    if layout is None:
        layout = chart._chartSpace.chart.plotArea.makeelement(qn("c:layout"), {})
        chart._chartSpace.chart.plotArea.insert(0, layout)
    manual = layout.makeelement(qn("c:manualLayout"), {})
    for tag, value in (("layoutTarget", "inner"), ("xMode", "edge"), ("yMode", "edge"), ("x", x), ("y", y),
                       ("w", 1 - x - 0.25 / width), ("h", 1 - y - 0.7 / height)):
        manual.append(manual.makeelement(qn(f"c:{tag}"), {"val": value if isinstance(value, str) else f"{value:.4f}"}))
    layout.append(manual)


def _nice(value: float, up: bool) -> float:
    """``value`` rounded outwards to two significant digits, for an axis' end."""
    if value == 0:
        return 0.0
    step = 10 ** (np.floor(np.log10(abs(value))) - 1) * 2
    return float((np.ceil if up else np.floor)(value / step) * step)


RUN_COLOURS = [ACCENT, RGBColor(0x2A, 0x9D, 0x8F), RGBColor(0xE7, 0x8A, 0x2F), RGBColor(0x3A, 0x6E, 0xC8),
               RGBColor(0xC8, 0x3A, 0x5A)]


# --- the visuals, one per slide title ----------------------------------------------------------------------
@dataclass
class Context:
    report: Report
    outputs: Outputs | None
    spec: SlideSpec | None = None  # the slide being drawn


COVER_PHOTO, INTRO_PHOTO = 3, 0  # which of the report's test photos (its sample order)


def _sample(ctx: Context, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    samples = ctx.outputs.samples
    i = i % (len(samples) // 3)
    return samples[3 * i], samples[3 * i + 1], samples[3 * i + 2]


def _hue_ring(shapes, box: Box, label: str = "L*a*b*"):
    """The deck's emblem: twelve hues around a grey centre, the colour the model adds to a grey photo."""
    side = min(box.width, box.height)
    cx, cy = box.left + box.width // 2, box.top + box.height // 2
    dot, radius = int(side * 0.17), int(side * 0.38)
    for k, colour in enumerate(HUES):
        angle = np.radians(90 - 30 * k)
        x, y = cx + int(radius * np.cos(angle)) - dot // 2, cy - int(radius * np.sin(angle)) - dot // 2
        _rect(shapes, Box(x, y, dot, dot), colour, kind=MSO_SHAPE.OVAL)
    inner = int(side * 0.42)
    _node(shapes, Box(cx - inner // 2, cy - inner // 2, inner, inner), [label], size=22, bold=True,
          fill=RGBColor(0x9A, 0x9A, 0xA2), color=WHITE, kind=MSO_SHAPE.OVAL)


def _labelled_photos(slide, box: Box, rows: list[list[np.ndarray]], headers: list[str], name: str,
                     row_labels: list[str] | None = None):
    """Photos in a grid as large as fits, a header over each column (native text, LABEL_PT + 2) and, with
    ``row_labels``, a label left of each row."""
    header_h, gap = Inches(0.45), Inches(0.12)
    label_w = Inches(1.0) if row_labels else 0
    ratio = rows[0][0].shape[1] / rows[0][0].shape[0]
    cols = len(rows[0])
    height = min((box.height - header_h - gap * (len(rows) - 1)) // len(rows),
                 int((box.width - label_w - gap * (cols - 1)) / cols / ratio))
    width = int(height * ratio)
    left0 = box.left + label_w + (box.width - label_w - cols * width - (cols - 1) * gap) // 2
    top0 = box.top + (box.height - header_h - len(rows) * height - (len(rows) - 1) * gap) // 2
    for c, header in enumerate(headers):
        _text(slide.shapes, Box(left0 + c * (width + gap), top0, width, header_h), [header], LABEL_PT + 2, bold=True,
              color=INK, align=PP_ALIGN.CENTER, anchor=MSO_ANCHOR.BOTTOM)
    for r, row in enumerate(rows):
        top = top0 + header_h + r * (height + gap)
        if row_labels:
            _text(slide.shapes, Box(left0 - label_w, top, label_w - gap, height), [row_labels[r]], LABEL_PT, bold=True,
                  color=INK, align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)
        for c, image in enumerate(row):
            _picture(slide.shapes, image, Box(left0 + c * (width + gap), top, width, height), name=f"Visual: {name}")


def visual_cover(slide, box: Box, ctx: Context) -> bool:
    if ctx.outputs is None:
        _hue_ring(slide.shapes, box)
        return True
    gray, colour, _ = _sample(ctx, COVER_PHOTO)
    half = gray.shape[1] // 2
    split = np.concatenate([gray[:, :half], colour[:, half:]], axis=1)
    split[:, half - 1:half + 1] = 255  # the line between before and after
    side = min(box.width, box.height - Inches(0.5))
    left = box.left + (box.width - side) // 2
    _picture(slide.shapes, split, Box(left, box.top, side, side), name="Visual: antes y después")
    for part, label in zip(Box(left, box.top + side, side, Inches(0.45)).cols(1, 1), ("gris", "colorizada")):
        _text(slide.shapes, part, [label], LABEL_PT + 2, color=WHITE, align=PP_ALIGN.CENTER)
    return True


def visual_intro(slide, box: Box, ctx: Context) -> bool:
    gray, colour, _ = _sample(ctx, INTRO_PHOTO)
    arrow_w, header_h = Inches(0.9), Inches(0.5)
    side = min((box.width - arrow_w) // 2, box.height - header_h)
    top = box.top + (box.height - side - header_h) // 2
    left = box.left + (box.width - 2 * side - arrow_w) // 2
    for x, image, label in ((left, gray, "Entrada: foto en gris"), (left + side + arrow_w, colour, "Salida: a color")):
        _text(slide.shapes, Box(x, top, side, header_h), [label], LABEL_PT + 4, bold=True, color=INK,
              align=PP_ALIGN.CENTER)
        _picture(slide.shapes, image, Box(x, top + header_h, side, side), name="Visual: antes y después")
    middle = top + header_h + side // 2
    arrow = Box(left + side + Inches(0.12), middle - Inches(0.3), arrow_w - Inches(0.24), Inches(0.6))
    _rect(slide.shapes, arrow, ACCENT, kind=MSO_SHAPE.RIGHT_ARROW).name = "Visual: flecha"
    return True


def visual_background(slide, box: Box, ctx: Context) -> bool:
    steps = (("Autoencoder en RGB", "rehace el brillo; salidas borrosas y pardas", False),
             ("GAN anterior", "FID imposibles; D no ve la foto de entrada", False),
             ("Este proyecto", "pix2pix condicional en L*a*b*; FID y KID correctos", True))
    shapes = _group(slide, "evolución")
    cards = box.inset(dy=Inches(0.2)).rows(1, 1, 1, gap=Inches(0.45))
    for (head, detail, ours), card in zip(steps, cards):
        colour = ACCENT if ours else MUTED
        _node(shapes, card, [], fill=CARD if not ours else RGBColor(0xF1, 0xE6, 0xF8), line=colour)
        mark = Box(card.left + Inches(0.25), card.top + (card.height - Inches(0.8)) // 2, Inches(0.8), Inches(0.8))
        _node(shapes, mark, ["✓" if ours else "✗"], size=28, bold=True, fill=colour, color=WHITE,
              kind=MSO_SHAPE.OVAL)
        text = Box(mark.right + Inches(0.2), card.top, card.right - mark.right - Inches(0.35), card.height)
        _node(shapes, text, [(head, LABEL_PT + 6, True, INK), (detail, LABEL_PT + 2, False, TEXT)], fill=None,
              align=PP_ALIGN.LEFT)
    for upper, lower in zip(cards, cards[1:]):
        x = upper.left + upper.width // 2
        _arrow(shapes, x, upper.bottom + Inches(0.05), x, lower.top - Inches(0.05), color=SOFT, width=3)
    return True


def visual_objectives(slide, box: Box, ctx: Context) -> bool:
    goals = (("Datos", "explorar, limpiar y versionar con DVC", MSO_SHAPE.CAN, HUES[4]),
             ("Modelo", "pix2pix en L*a*b*, cada corrida en MLflow", MSO_SHAPE.GEAR_6, HUES[8]),
             ("Selección", "barrer lr_G y lr_D, elegir por FID, exportar a ONNX", MSO_SHAPE.STAR_5_POINT, HUES[2]),
             ("Producción", "API Flask y gunicorn en Docker, en la nube", MSO_SHAPE.CLOUD, HUES[6]))
    shapes = _group(slide, "objetivos")
    top, bottom = box.inset(dy=Inches(0.1)).rows(1, 1, gap=Inches(0.3))
    cells = [*top.cols(1, 1, gap=Inches(0.3)), *bottom.cols(1, 1, gap=Inches(0.3))]
    for (head, detail, icon, colour), cell in zip(goals, cells):
        _node(shapes, cell, [], fill=CARD)
        _rect(shapes, Box(cell.left + Inches(0.3), cell.top + Inches(0.3), Inches(0.9), Inches(0.9)), colour, kind=icon)
        _text(shapes, Box(cell.left + Inches(1.35), cell.top + Inches(0.3), cell.width - Inches(1.5), Inches(0.9)),
              [head], LABEL_PT + 6, bold=True, color=INK, anchor=MSO_ANCHOR.MIDDLE)
        _text(shapes, Box(cell.left + Inches(0.3), cell.top + Inches(1.35), cell.width - Inches(0.5),
                          cell.height - Inches(1.5)), [detail], LABEL_PT + 4)
    return True


def visual_gan(slide, box: Box, ctx: Context) -> bool:
    """The generator (a U-Net: encoder, bottleneck, decoder, skip connections) and the conditional PatchGAN
    discriminator, drawn on a 12.33 x 3.5 in plan scaled to ``box``."""
    shapes = _group(slide, "U-Net y PatchGAN")
    sx, sy = box.width / Inches(12.33), min(box.height / Inches(3.5), 1.15)
    top = box.top + (box.height - int(Inches(3.5) * sy)) // 2

    def at(x: float, y: float, w: float, h: float) -> Box:  # inches on the plan -> the slide
        return Box(box.left + int(Inches(x) * sx), top + int(Inches(y) * sy), int(Inches(w) * sx), int(Inches(h) * sy))

    def arrow(a: Box, b: Box, y_a: float | None = None, y_b: float | None = None, **style):
        ya = a.top + a.height // 2 if y_a is None else top + int(Inches(y_a) * sy)
        yb = b.top + b.height // 2 if y_b is None else top + int(Inches(y_b) * sy)
        _arrow(shapes, a.right + Inches(0.04), ya, b.left - Inches(0.04), yb, **style)

    params = ctx.outputs.results["params"] if ctx.outputs else {}
    encoder, lam = params.get("train", {}).get("encoder"), params.get("gan", {}).get("lambda_l1")
    gray, enc_colour, dec_colour = RGBColor(0x8C, 0x8C, 0x8C), RGBColor(0x5B, 0x4A, 0x8A), ACCENT
    _text(shapes, at(0, 0, 7.4, 0.45), ["Generador G: U-Net"], LABEL_PT + 6, bold=True, color=INK)
    _text(shapes, at(7.9, 0, 4.43, 0.45), ["Discriminador D: PatchGAN"], LABEL_PT + 4, bold=True, color=INK)
    # G: L* -> encoder (3 levels) -> bottleneck -> decoder -> a*b*, skip connections across
    y0 = 0.45
    l_in = at(0, y0 + 0.35, 0.95, 0.95)
    _node(shapes, l_in, ["L*"], size=LABEL_PT + 6, bold=True, fill=gray, color=WHITE, kind=MSO_SHAPE.RECTANGLE)
    _text(shapes, at(-0.25, y0 + 1.32, 1.45, 0.35), ["luminancia"], color=MUTED, align=PP_ALIGN.CENTER)
    centres, heights = (y0 + 0.82, y0 + 1.42, y0 + 1.93, y0 + 2.3), (1.4, 1.0, 0.7, 0.42)
    enc = [at(1.3 + 0.62 * i, centres[i] - heights[i] / 2, 0.4, heights[i]) for i in range(3)]
    neck = at(3.55, centres[3] - heights[3] / 2, 0.4, heights[3])
    dec = [at(5.8 - 0.62 * i, centres[i] - heights[i] / 2, 0.4, heights[i]) for i in range(3)]
    for block, colour in [*((b, enc_colour) for b in enc), (neck, INK), *((b, dec_colour) for b in dec)]:
        _rect(shapes, block, colour, kind=MSO_SHAPE.ROUNDED_RECTANGLE)
    for a, b in zip([*enc, neck], [*enc[1:], neck]):
        _arrow(shapes, a.right, a.bottom - Inches(0.08), b.left, b.top + Inches(0.08), width=2)
    for a, b in zip([neck, *dec[:0:-1]], dec[::-1]):
        _arrow(shapes, a.right, a.top + Inches(0.08), b.left, b.bottom - Inches(0.08), width=2)
    for i in range(3):
        y = centres[i] - heights[i] / 4
        arrow(enc[i], dec[i], y, y, color=ACCENT, width=1.75, dashed=True)
    _text(shapes, at(1.8, y0 + 0.05, 3.9, 0.38), ["conexiones de salto"], color=ACCENT, align=PP_ALIGN.CENTER)
    _text(shapes, at(0, y0 + 2.6, 3.45, 0.4), [f"codificador ({encoder})" if encoder else "codificador"], color=MUTED)
    _text(shapes, at(4.2, y0 + 2.6, 3.2, 0.4), ["decodificador"], color=MUTED, align=PP_ALIGN.RIGHT)
    ab_out = at(6.5, y0 + 0.35, 0.95, 0.95)
    for quarter, colour in zip([c for row in ab_out.rows(1, 1) for c in row.cols(1, 1)], HUES[0:12:3]):
        _rect(shapes, quarter, colour)
    _node(shapes, ab_out, ["a*b*"], size=LABEL_PT + 6, bold=True, fill=None, color=WHITE, kind=MSO_SHAPE.RECTANGLE)
    _text(shapes, at(6.25, y0 + 1.32, 1.45, 0.35), ["crominancia"], color=MUTED, align=PP_ALIGN.CENTER)
    arrow(l_in, enc[0], width=2.5)
    arrow(dec[0], ab_out, width=2.5)
    # D: the pair (L*, a*b*) -> convolutions -> one real/fake decision per patch
    pair_gray, pair_ab = at(8.0, y0 + 0.25, 0.85, 0.85), at(8.25, y0 + 0.5, 0.85, 0.85)
    _rect(shapes, pair_gray, gray)
    for half, colour in zip(pair_ab.rows(1, 1), (HUES[2], HUES[8])):
        _rect(shapes, half, colour)
    arrow(ab_out, pair_gray, y0 + 0.82, y0 + 0.82, width=2.5)
    _text(shapes, at(7.6, y0 + 1.38, 2.0, 0.7), ["el par (L*, a*b*):", "D es condicional"], color=MUTED,
          align=PP_ALIGN.CENTER)
    convs = [at(9.45 + 0.45 * k, y0 + 0.82 - (1.0 - 0.2 * k) / 2, 0.3, 1.0 - 0.2 * k) for k in range(3)]
    for conv in convs:
        _rect(shapes, conv, enc_colour, kind=MSO_SHAPE.ROUNDED_RECTANGLE)
    arrow(pair_ab, convs[0], y0 + 0.82, y0 + 0.82, width=2)
    grid = at(11.25, y0 + 0.3, 1.05, 1.05)
    verdicts = "1101" "0111" "1110" "1011"
    cells = [c for row in grid.rows(1, 1, 1, 1, gap=Emu(12700)) for c in row.cols(1, 1, 1, 1, gap=Emu(12700))]
    for cell, verdict in zip(cells, verdicts):
        _rect(shapes, cell, RGBColor(0x2A, 0x9D, 0x8F) if verdict == "1" else RGBColor(0xC8, 0x3A, 0x5A))
    arrow(convs[-1], grid, width=2)
    _text(shapes, at(10.0, y0 + 1.38, 2.33, 0.7), ["real o generado,", "por parche"], color=MUTED, align=PP_ALIGN.RIGHT)
    loss = [("Pérdida de G", LABEL_PT + 2, True, INK), ("adversarial (engañar a D)", LABEL_PT, False, INK),
            ("+ λ·L1 (acercarse al color real)" + (f", λ = {lam:g}" if lam else ""), LABEL_PT, False, INK)]
    _node(shapes, at(7.6, y0 + 2.05, 4.73, 1.0), loss, fill=CARD)
    return True


def visual_eda(slide, box: Box, ctx: Context) -> bool:
    data = ctx.outputs.data
    counts, edges, _ = analysis.hue_histogram(data, "train", bins=36)
    shares = analysis.hue_shares(counts, edges)
    hist, a_edges, _ = analysis.ab_histogram(data, "train")
    centres = (a_edges[:-1] + a_edges[1:]) / 2
    chroma = np.hypot(centres[:, None], centres[None, :])
    low = {r: float(hist[chroma < r].sum() / hist.sum()) for r in (10, 20)}
    names = {"red and orange": ("rojo y naranja", 40), "yellow": ("amarillo", 90), "green": ("verde", 150),
             "cyan": ("cian", 215), "blue": ("azul", 270), "magenta and purple": ("magenta", 335)}
    families = [f for f in names if f in shares]
    colours = [_rgb(analysis.hue_colours(np.array([names[f][1] - 1.0, names[f][1] + 1.0]), 60.0, 55.0)[0])
               for f in families]
    chart_box, tiles = box.rows(72, 28, gap=Inches(0.25))
    _bar_chart(slide.shapes, chart_box, [names[f][0] for f in families], [shares[f] for f in families], colours,
               "Tono de los píxeles con color (croma ≥ 10)", "0%", horizontal=False)
    for tile, radius in zip(tiles.cols(1, 1, gap=Inches(0.3)), (10, 20)):
        _node(slide.shapes, tile, [(f"{100 * low[radius]:.0f}%", LABEL_PT + 14, True, ACCENT),
                                   (f"de los píxeles con croma < {radius}", LABEL_PT + 2, False, TEXT)],
              fill=CARD).name = "Visual: cifra"
    return True


def visual_wrangling(slide, box: Box, ctx: Context) -> bool:
    """A waterfall of shapes: the photos scanned, what each reason set aside, the photos kept."""
    counts = ctx.outputs.data.report["counts"]
    reasons = {"unreadable": ("ilegible", "ilegibles"), "truncated": ("truncada", "truncadas"),
               "too_small": ("demasiado pequeña", "demasiado pequeñas"), "grayscale": ("casi gris", "casi grises"),
               "sepia": ("virada (sepia)", "viradas (sepia)"), "duplicate": ("duplicada", "duplicadas")}
    steps = [(f"{counts['scanned']} revisadas", 0, counts["scanned"], INK)]
    start = counts["scanned"]
    for reason, n in counts["rejected"].items():
        if n:
            start -= n
            name = reasons.get(reason, (reason, reason))[n != 1]
            steps.append((f"−{n} {name}", start, n, RGBColor(0xC8, 0x3A, 0x5A)))
    steps.append((f"{counts['kept']} conservadas", 0, counts["kept"], ACCENT))
    shapes = _group(slide, "cascada de prepare")
    label_w = Inches(3.0)
    bars = Box(box.left + label_w + Inches(0.15), box.top, box.width - label_w - Inches(0.15), box.height)
    rows = box.inset(dy=Inches(0.2)).rows(*[1] * len(steps), gap=Inches(0.18))
    scale = bars.width / counts["scanned"]
    for (label, start, n, colour), row in zip(steps, rows):
        height = min(row.height, Inches(0.75))
        top = row.top + (row.height - height) // 2
        _text(shapes, Box(box.left, top, label_w, height), [label], LABEL_PT + 4, bold=True, color=INK,
              align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)
        _rect(shapes, Box(bars.left + int(start * scale), top, max(int(n * scale), Inches(0.06)), height), colour)
    return True


PIPELINE = (("Fotos", "sin modificar"), ("prepare", "limpiar y dividir"), ("Entrenar L1", "el generador solo"),
            ("Entrenar GAN", "un par lr_G / lr_D"), ("Evaluar", "FID y KID"), ("Elegir", "el campeón"),
            ("Exportar", "a ONNX"), ("API", "Flask y gunicorn en Docker"))


def _pipeline(shapes, box: Box, highlight: int, copies: int = 1):
    """The DVC pipeline from the raw photos to the API, as a two-row snake; ``copies`` cards under
    "Entrenar GAN" (one stage per lr pair)."""
    top, bottom = box.rows(1, 1, gap=Inches(0.45))
    cells = top.cols(1, 1, 1, 1, gap=Inches(0.55)) + bottom.cols(1, 1, 1, 1, gap=Inches(0.55))[::-1]
    for k, ((head, detail), cell) in enumerate(zip(PIPELINE, cells)):
        behind, shift = min(copies, 4) - 1, Inches(0.09)
        if head == "Entrenar GAN" and behind > 0:  # the other runs' cards behind this one
            cell = Box(cell.left, cell.top + behind * shift, cell.width - behind * shift, cell.height - behind * shift)
            for c in range(behind, 0, -1):
                _node(shapes, Box(cell.left + c * shift, cell.top - c * shift, cell.width, cell.height), [], fill=SOFT)
        chosen = k == highlight
        _node(shapes, cell, [(head, LABEL_PT + 4, True, WHITE if chosen else INK),
                             (detail, LABEL_PT, False, WHITE if chosen else TEXT)],
              fill=ACCENT if chosen else CARD, line=None if chosen else SOFT)
        cells[k] = cell
    for k in range(len(cells) - 1):
        a, b = cells[k], cells[k + 1]
        if k == 3:  # down to the second row
            x = a.left + a.width // 2
            _arrow(shapes, x, a.bottom + Inches(0.04), x, b.top - Inches(0.04), width=2.5)
        elif k < 3:
            y = a.top + a.height // 2
            _arrow(shapes, a.right + Inches(0.04), y, b.left - Inches(0.04), y, width=2.5)
        else:
            y = a.top + a.height // 2
            _arrow(shapes, a.left - Inches(0.04), y, b.right + Inches(0.04), y, width=2.5)


def visual_dataset(slide, box: Box, ctx: Context) -> bool:
    copies = len(ctx.outputs.results["params"].get("sweep", {})) if ctx.outputs else 1
    if ctx.outputs is None or box.height < Inches(3.2):
        _pipeline(_group(slide, "pipeline"), box, highlight=1, copies=copies)
        return True
    flow, split = Box(box.left, box.top, box.width, box.height - Inches(0.85)), Box(box.left, box.bottom - Inches(0.6),
                                                                                      box.width, Inches(0.6))
    _pipeline(_group(slide, "pipeline"), flow, highlight=1, copies=copies)
    counts = ctx.outputs.data.report["counts"]
    parts = [("entrenamiento", counts["train"], ACCENT), ("validación", counts["val"], HUES[7]),
             ("prueba", counts["test"], HUES[4])]
    shapes = _group(slide, "división")
    cells = split.cols(*[max(n, counts["kept"] * 0.25) for _, n, _ in parts], gap=Inches(0.06))
    for (name, n, colour), cell in zip(parts, cells):
        _node(shapes, cell, [f"{name}: {n}"], size=LABEL_PT + 2, bold=True, fill=colour, color=WHITE,
              kind=MSO_SHAPE.RECTANGLE)
    return True


def visual_training(slide, box: Box, ctx: Context) -> bool:
    histories = ctx.outputs.histories()
    adversarial = {label: list(h["loss_G_GAN"].dropna().rolling(20, min_periods=1).mean().items())
                   for label, h in histories.items() if "loss_G_GAN" in h}
    validation = {label: list(h["val_l1"].dropna().items()) for label, h in histories.items() if "val_l1" in h}
    charts = Box(box.left, box.top, box.width, box.height - Inches(0.5))
    legend = Box(box.left, box.bottom - Inches(0.45), box.width, Inches(0.45))
    wide = box.width > Inches(9)
    first, second = charts.cols(1, 1, gap=Inches(0.3)) if wide else charts.rows(1, 1, gap=Inches(0.2))
    _line_chart(slide.shapes, first, adversarial, "Pérdida adversarial de G", "paso (media de 20)", RUN_COLOURS)
    _line_chart(slide.shapes, second, validation, "L1 de validación, por época", "paso", RUN_COLOURS)
    shapes = _group(slide, "leyenda")
    key = Box(legend.left, legend.top, Inches(1.4), legend.height)
    entries = Box(key.right, legend.top, legend.width - key.width, legend.height)
    _text(shapes, key, ["lr_G / lr_D:"], LABEL_PT, anchor=MSO_ANCHOR.MIDDLE, color=MUTED, align=PP_ALIGN.RIGHT)
    for (label, colour), cell in zip(zip(histories, RUN_COLOURS), entries.cols(*[1] * len(histories), gap=Inches(0.1))):
        _rect(shapes, Box(cell.left, cell.top + cell.height // 2 - Pt(2), Inches(0.35), Pt(4)), colour)
        _text(shapes, Box(cell.left + Inches(0.4), cell.top, cell.width - Inches(0.4), cell.height),
              [label], LABEL_PT, anchor=MSO_ANCHOR.MIDDLE)
    return True


def visual_selection(slide, box: Box, ctx: Context) -> bool:
    runs, m, results = ctx.outputs.runs, ctx.outputs.champion_metrics, ctx.outputs.results
    champion = results["champion"]["run_id"]
    labels = [_run_label(r) for r in runs.itertuples()]
    colours = [ACCENT if r.run_id == champion else RGBColor(0x7D, 0x74, 0x96) for r in runs.itertuples()]
    fid, kid = list(runs["fid"]), list(runs["kid"])
    for baseline in results["baselines"].values():
        labels.append("sólo L1 (referencia)")
        fid.append(baseline["metrics"]["test_fid"])
        kid.append(baseline["metrics"]["test_kid"])
        colours.append(SOFT)
    labels.append("entrada en gris")
    fid.append(m["test_fid_baseline_gray"])
    kid.append(m["test_kid_baseline_gray"])
    colours.append(RGBColor(0xA0, 0xA0, 0xA6))
    n = int(m["test_images"])
    top, bottom = box.rows(1, 1, gap=Inches(0.2))
    _bar_chart(slide.shapes, top, labels, fid, colours, f"FID (menor es mejor), N = {n}", "0.0")
    _bar_chart(slide.shapes, bottom, labels, kid, colours, "KID (menor es mejor)", "0.0000")
    return True


def visual_photos(slide, box: Box, ctx: Context) -> bool:
    """A test photo whole (top row) and its middle ninth colourised on its own, as a close-up (bottom row)."""
    closeup = ctx.outputs.closeup
    rows = [closeup["whole"], closeup["closeup"]]  # both square: the close-up's 86 pixels drawn as large
    _labelled_photos(slide, box, rows, ["gris", "colorizada", "real"], "colorizaciones, entera y primer plano",
                     row_labels=["foto entera", "primer plano"])
    return True


def visual_api(slide, box: Box, ctx: Context) -> bool:
    gray, colour = ctx.outputs.api_photo
    h, w = gray.shape[:2]
    _labelled_photos(slide, box, [[gray, colour]], [f"entrada en gris ({w}x{h})", f"salida de la API ({w}x{h})"],
                     "antes y después")
    return True


def visual_hints(slide, box: Box, ctx: Context) -> bool:
    _labelled_photos(slide, box, [list(ctx.outputs.hints_photo)],
                     ["sin pistas", f"{reporting.HINT_EXAMPLE_POINTS} pistas (círculos)", "original"], "pistas de color")
    return True


def visual_container(slide, box: Box, ctx: Context) -> bool:
    shapes = _group(slide, "contenedor")
    outer = box.inset(dx=Inches(0.05), dy=Inches(0.05))
    _node(shapes, outer, [], fill=RGBColor(0xF5, 0xF3, 0xF9), line=INK)
    _text(shapes, Box(outer.left + Inches(0.25), outer.top + Inches(0.12), outer.width - Inches(0.5), Inches(0.5)),
          ["Imagen Docker"], LABEL_PT + 6, bold=True, color=INK)
    inner = Box(outer.left + Inches(0.3), outer.top + Inches(0.75), outer.width - Inches(0.6),
                outer.height - Inches(0.95))
    server, workers, tags = inner.rows(22, 42, 36, gap=Inches(0.3))
    _node(shapes, server, [("gunicorn", LABEL_PT + 4, True, WHITE),
                           ("recibe las peticiones HTTP", LABEL_PT, False, WHITE)], fill=INK)
    for column in workers.cols(1, 1, gap=Inches(0.3)):
        _node(shapes, column, [("worker", LABEL_PT + 2, True, WHITE), ("Flask + ONNX Runtime,", LABEL_PT, False, WHITE),
                               ("el modelo cargado una vez", LABEL_PT, False, WHITE)], fill=ACCENT)
        _arrow(shapes, column.left + column.width // 2, server.bottom + Inches(0.04), column.left + column.width // 2,
               column.top - Inches(0.04), width=2.5)
    for tag, cell in zip(("sin PyTorch ni MLflow", "usuario sin privilegios", "HEALTHCHECK: /ready"),
                         tags.rows(1, 1, 1, gap=Inches(0.12))):
        _node(shapes, cell, [tag], size=LABEL_PT + 2, fill=WHITE, line=SOFT, color=INK)
    return True


def visual_cloud(slide, box: Box, ctx: Context) -> bool:
    """What is done (solid) and what is a plan (dashed): CI builds and tests the image; a VM and DagsHub."""
    shapes = _group(slide, "despliegue")
    legend, area = Box(box.left, box.top, box.width, Inches(0.45)), Box(box.left, box.top + Inches(0.65), box.width,
                                                                       box.height - Inches(0.65))
    for cell, (label, dashed) in zip(legend.cols(1.6, 1, gap=Inches(0.3)),
                                     (("hecho y comprobado", False), ("plan", True))):
        _node(shapes, Box(cell.left, cell.top + Inches(0.05), Inches(0.55), cell.height - Inches(0.1)), [], fill=None,
              line=INK, dashed=dashed)
        _text(shapes, Box(cell.left + Inches(0.65), cell.top, cell.width - Inches(0.65), cell.height), [label],
              LABEL_PT + 2, anchor=MSO_ANCHOR.MIDDLE)
    flow, side = area.cols(57, 43, gap=Inches(0.45))
    steps = (("Repositorio", "código y Dockerfile", False),
             ("Integración continua", "construye y prueba la imagen", False),
             ("VM en la nube", "cloud-init levanta el contenedor", True), ("Usuarios", "navegador o curl", True))
    cells = flow.rows(1, 1, 1, 1, gap=Inches(0.35))
    for (head, detail, plan), cell in zip(steps, cells):
        _node(shapes, cell, [(head, LABEL_PT + 4, True, INK), (detail, LABEL_PT, False, TEXT)],
              fill=WHITE if plan else CARD, line=INK, dashed=plan)
    for k, (a, b) in enumerate(zip(cells, cells[1:])):
        x = a.left + a.width // 2
        if k == 2:  # users call the VM
            _arrow(shapes, x, b.top - Inches(0.04), x, a.bottom + Inches(0.04), dashed=True)
        else:
            _arrow(shapes, x, a.bottom + Inches(0.04), x, b.top - Inches(0.04), dashed=steps[k + 1][2])
    stores = side.rows(1, 1, gap=Inches(0.35))
    stores_ = (("MLflow", "las corridas, en DagsHub"), ("Datos", "dvc push al remoto de DagsHub"))
    for (head, detail), cell in zip(stores_, stores):
        _node(shapes, cell, [(head, LABEL_PT + 4, True, INK), (detail, LABEL_PT, False, TEXT)], fill=WHITE, line=INK,
              dashed=True)
    return True


def visual_conclusions(slide, box: Box, ctx: Context) -> bool:
    m = ctx.outputs.champion_metrics
    rows = [("Métrica", "Campeón", "Referencia"),
            ("FID (menor es mejor)", f"{m['test_fid']:.1f}", f"{m['test_fid_baseline_gray']:.1f} · entrada en gris"),
            ("KID (menor es mejor)", f"{m['test_kid']:.4f}", f"{m['test_kid_baseline_gray']:.4f} · entrada en gris"),
            ("Colorido", f"{m['test_colourfulness']:.1f}", f"{m['test_colourfulness_real']:.1f} · fotos reales"),
            ("CIEDE2000 (menor es mejor)", f"{m['test_ciede2000']:.2f}", "error de color frente a la verdad")]
    row_h = Inches(0.75)
    height = row_h * len(rows)
    frame = slide.shapes.add_table(len(rows), 3, box.left, box.top + (box.height - height) // 2, box.width, height)
    frame.name = "Visual: tabla de cifras"
    table = frame.table
    for c, width in enumerate((0.36, 0.22, 0.42)):
        table.columns[c].width = int(box.width * width)
    for r, values in enumerate(rows):
        table.rows[r].height = row_h
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.fill.solid()
            cell.fill.fore_color.rgb = INK if r == 0 else (CARD if r % 2 else WHITE)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            colour = WHITE if r == 0 else (ACCENT if c == 1 else TEXT)
            size = LABEL_PT + 4 if c < 2 or r == 0 else LABEL_PT + 2
            _fill_frame(cell.text_frame, [value], size, bold=r == 0 or c == 1, color=colour, anchor=MSO_ANCHOR.MIDDLE,
                        margin=Inches(0.08))
    return True


def visual_references(slide, box: Box, ctx: Context) -> bool:
    """The report's references with a year, on a time line: as many as fit, those the slide cites first."""
    cited = " ".join(ctx.spec.bullets) if ctx.spec else ""
    ranked = sorted(ctx.report.references, key=lambda r: (r[1] not in cited, r[0]))
    references = sorted(ranked[:max(3, box.height // Inches(0.34))])
    if len(references) < 3:
        return False
    shapes = _group(slide, "línea de tiempo")
    rows = box.rows(*[1] * len(references))
    line_x = box.left + Inches(1.05)
    _arrow(shapes, line_x, rows[0].top + rows[0].height // 2, line_x, rows[-1].top + rows[-1].height // 2, color=SOFT,
           width=3, head=False)
    for (year, author, title), row, colour in zip(references, rows, HUES * 2):
        middle = row.top + row.height // 2
        _text(shapes, Box(box.left, middle - Inches(0.2), Inches(0.8), Inches(0.4)), [str(year)], LABEL_PT, bold=True,
              color=INK, align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)
        _rect(shapes, Box(line_x - Inches(0.09), middle - Inches(0.09), Inches(0.18), Inches(0.18)), colour,
              kind=MSO_SHAPE.OVAL)
        text_box = Box(line_x + Inches(0.25), middle - Inches(0.2), box.right - line_x - Inches(0.25), Inches(0.4))
        short = f"{author}: {title}"
        while _lines_needed(short, text_box.width - Inches(0.15), LABEL_PT) > 1:
            short = short[:-2].rstrip() + "…"
        _text(shapes, text_box, [short], LABEL_PT, anchor=MSO_ANCHOR.MIDDLE)
    return True


def visual_emblem(slide, box: Box, ctx: Context) -> bool:
    _hue_ring(_group(slide, "emblema"), box)
    return True


# slide title -> (layout, visual, whether it needs the pipeline's outputs): "side" puts the bullets beside the
# visual, "stack" above it
VISUALS = {
    "Introducción": ("side", visual_intro, True),
    "Antecedentes": ("side", visual_background, False),
    "Objetivos": ("side", visual_objectives, False),
    "Planteamiento del problema": ("stack", visual_gan, False),
    "Análisis exploratorio de datos": ("side", visual_eda, True),
    "Data wrangling": ("side", visual_wrangling, True),
    "Dataset final": ("stack", visual_dataset, False),
    "Entrenamiento con MLflow": ("side", visual_training, True),
    "Selección del mejor modelo": ("side", visual_selection, True),
    "Lo que muestran las imágenes": ("side", visual_photos, True),
    "API": ("stack", visual_api, True),
    "Pistas de color": ("stack", visual_hints, True),
    "Contenedor": ("side", visual_container, False),
    "Despliegue en la nube": ("side", visual_cloud, False),
    "Conclusiones": ("side", visual_conclusions, True),
    "Referencias": ("side", visual_references, False),
}


def _visual_for(title: str, ctx: Context, figure: bytes | None):
    """(layout, visual) of a slide, also where the report adds a parenthesis to a title ("... (EDA)"). Without
    the outputs it needs, the visual is the report's figure: a wide one goes under the bullets."""
    plain = re.sub(r"\s*\([^)]*\)$", "", title)
    layout, draw, needs = VISUALS.get(title) or VISUALS.get(plain) or ("side", None, False)
    if needs and ctx.outputs is None:
        draw = None
    if draw is None and figure:
        with Image.open(io.BytesIO(figure)) as image:
            layout = "stack" if image.width > 2 * image.height else "side"
    return layout, draw


# --- the notes ------------------------------------------------------------------------------------------------
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


def _notes(slide, minutes: float, text: str):
    slide.notes_slide.notes_text_frame.text = f"{_minutes_text(minutes)} {text}"


# --- the deck -------------------------------------------------------------------------------------------------
def _cover(deck, report: Report, ctx: Context):
    slide = deck.slides.add_slide(deck.slide_layouts[LAYOUT_COVER])
    background = _rect(slide.shapes, Box(0, 0, WIDTH, HEIGHT), INK)
    background.name = "Diseño: fondo"
    _to_back(background)
    left = Box(MARGIN + Inches(0.1), Inches(0.9), Inches(7.2), Inches(5.6))
    title, authors_box, run_box = left.rows(46, 30, 24, gap=Inches(0.2))
    heading = slide.shapes.title
    heading.left, heading.top, heading.width, heading.height = title.left, title.top, title.width, title.height
    size = next((s for s in (40, 36, 32, 28) if _lines_needed(report.title, title.width - Inches(0.1), s, bold=True)
                 * s * LINE <= Emu(title.height).pt - 8), 28)
    _fill_frame(heading.text_frame, [report.title], size, bold=True, color=WHITE, anchor=MSO_ANCHOR.BOTTOM)
    _hue_stripe(slide.shapes, Box(title.left, title.bottom + Inches(0.05), Inches(4.0), Inches(0.08)))
    short, technical = _cover_lines(report.run_line)
    subtitle = next(s for s in slide.placeholders if s.placeholder_format.idx == 1)
    subtitle.left, subtitle.top, subtitle.width = authors_box.left, authors_box.top, authors_box.width
    subtitle.height = run_box.bottom - authors_box.top
    lines = [(report.authors, 24, False, WHITE)] + ([(short, 18, False, SOFT)] if short else [])
    _fill_frame(subtitle.text_frame, lines, 24, space_after=14)
    if technical:
        _text(slide.shapes, Box(MARGIN + Inches(0.1), FOOTER_TOP, WIDTH - 2 * MARGIN, Inches(0.4)),
              [f"Ejecución del pipeline: {technical}"], FOOTER_PT, name="Pie de página", color=SOFT)
    visual_cover(slide, Box(Inches(8.1), Inches(1.0), Inches(4.8), Inches(5.6)), ctx)
    for placeholder in list(slide.placeholders):
        if placeholder.placeholder_format.idx not in (0, 1):
            placeholder._element.getparent().remove(placeholder._element)
    return slide


def _contents(deck, entries: list[tuple[str, int]]):
    slide = _content_slide(deck, CONTENTS, 2)
    spacing = min(Pt(30), (BODY_BOTTOM - BODY_TOP - Inches(0.2)) // max(len(entries), 1))
    size = min(20, int(Emu(spacing).pt / 1.25))
    list_box = Box(MARGIN + Inches(0.3), BODY_TOP + Inches(0.1), Inches(6.2), spacing * len(entries) + Inches(0.1))
    body = _body(slide)
    body.left, body.top, body.width, body.height = list_box.left, list_box.top, list_box.width, list_box.height
    numbers = _text(slide.shapes, Box(list_box.right, list_box.top, Inches(0.8), list_box.height), [],
                    name="Contenido: números")
    columns = ((body.text_frame, [t for t, _ in entries], TEXT, PP_ALIGN.LEFT, False),
               (numbers.text_frame, [str(n) for _, n in entries], ACCENT, PP_ALIGN.RIGHT, True))
    for frame, texts, colour, align, bold in columns:  # the same fixed line spacing: the numbers line up
        frame.word_wrap, frame.auto_size, frame.vertical_anchor = True, MSO_AUTO_SIZE.NONE, MSO_ANCHOR.TOP
        frame.margin_left = frame.margin_right = frame.margin_top = frame.margin_bottom = Inches(0.05)
        for i, text in enumerate(texts):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.line_spacing, paragraph.space_after, paragraph.space_before = Emu(spacing), Pt(0), Pt(0)
            paragraph.alignment = align
            run = paragraph.add_run()
            run.text = text
            _style(run, size, bold=bold, color=colour)
    for paragraph in body.text_frame.paragraphs:  # a list of titles, not of bullets
        properties = paragraph._p.get_or_add_pPr()
        properties.set("marL", "0")
        properties.set("indent", "0")
        properties.append(properties.makeelement(qn("a:buNone"), {}))
    _hue_ring(_group(slide, "emblema"), Box(Inches(8.6), BODY_TOP + Inches(0.4), Inches(4.2), Inches(4.6)))
    return slide


def _content(deck, spec: SlideSpec, number: int, ctx: Context):
    slide = _content_slide(deck, spec.title, number)
    layout, draw = _visual_for(spec.title, ctx, spec.figure)
    body = Box(MARGIN, BODY_TOP, WIDTH - 2 * MARGIN, BODY_BOTTOM - BODY_TOP)
    if not spec.bullets:
        text, visual = None, body
    elif layout == "stack":
        size = min(20, _bullet_size(spec.bullets, body.width, int(body.height * 0.4)) or MIN_BODY_PT)
        height = _bullets_height(spec.bullets, body.width, size)
        text = Box(body.left, body.top, body.width, height)
        visual = Box(body.left, body.top + height + Inches(0.15), body.width, body.height - height - Inches(0.15))
    else:
        width = _text_width(spec.bullets, body.height)
        text, visual = body.cols(width, body.width - width - GAP, gap=GAP)
    _put_bullets(slide, spec.bullets, text or body, spec.title)
    drawn = False
    if draw is not None:
        try:
            drawn = draw(slide, visual, replace(ctx, spec=spec))
        except (UserError, OSError) as error:
            print(f"presentation: slide {spec.title!r} not redrawn ({error}); the report's figure instead",
                  file=sys.stderr)
    if not drawn and spec.figure:
        _picture(slide.shapes, spec.figure, visual, name="Visual: figura del informe")
    elif not drawn:
        visual_emblem(slide, visual, ctx)
    return slide


def build_presentation(report_path: Path, out_path: Path, root: Path | None = None) -> int:
    """Write ``out_path`` from the executed report and the pipeline outputs under ``root`` (default: the
    project the report is in); returns the number of slides."""
    report = read_report(report_path)
    if not report.slides:
        raise ValueError(f"{report_path} has no cell tagged 'diapositiva': nothing to put on slides")
    for spec in report.slides:
        if len(spec.bullets) > MAX_BULLETS:
            raise ValueError(f"slide {spec.title!r} has {len(spec.bullets)} bullets, at most {MAX_BULLETS}: "
                             "shorten its cell in the report")
        if not spec.bullets:
            print(f"presentation: slide {spec.title!r} has no bullets (is the report executed?)", file=sys.stderr)
    ctx = Context(report, open_outputs(Path(root) if root else project_of(report_path), report))
    notes = yaml.safe_load(NOTES_FILE.read_text(encoding="utf-8"))
    titles = [COVER, CONTENTS, *(s.title for s in report.slides)]
    missing = [t for t in titles if t not in notes]
    if missing:
        print(f"presentation: no notes for {', '.join(map(repr, missing))} in {NOTES_FILE.name}", file=sys.stderr)
    minutes = talk_minutes(titles, notes)
    say = {t: notes[t]["notas"].format(autores=report.authors) if t in notes else
           "Comente los puntos de la diapositiva." for t in titles}

    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    slides = [_cover(deck, report, ctx)]
    first = {}
    for number, spec in enumerate(report.slides, start=3):
        first.setdefault(spec.title, number)
    slides.append(_contents(deck, list(first.items())))
    for number, spec in enumerate(report.slides, start=3):
        slides.append(_content(deck, spec, number, ctx))
    for slide, title, length in zip(slides, titles, minutes):
        _notes(slide, length, say[title])

    with atomic_path(out_path) as tmp:
        deck.save(str(tmp))
    return len(deck.slides)


if __name__ == "__main__":
    repo = Path(__file__).resolve().parents[1]
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else repo / "Informe Escrito" / "RafaelJuarez.ipynb"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else repo / "Informe Escrito" / "presentacion.pptx"
    root = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    print(f"{build_presentation(source, target, root=root)} slides in {target}")
