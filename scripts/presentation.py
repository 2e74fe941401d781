"""The PowerPoint from the executed report (`Informe Escrito/informe.ipynb`): a title slide, a table of
contents, then one slide per cell the report tags `diapositiva` (its bullet points, read from the cell or
from what it displayed), with the last figure of a cell tagged `figura` in the same section, large.

    python scripts/presentation.py ["Informe Escrito/informe.ipynb" ["Informe Escrito/presentacion.pptx"]]

The slides say what the report says, with the report's own numbers: nothing is typed here.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from pathlib import Path

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches, Pt

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)  # 16:9
MARGIN = Inches(0.4)
TITLE_HEIGHT = Inches(0.8)
ACCENT = RGBColor(0x8A, 0x3F, 0xB8)
CONTENTS = "Contenido"


def _plain(text: str) -> str:
    """Markdown inline marks removed: **bold**, *italic*, `code`, escaped stars, links."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = text.replace("\\*", "\u2217").replace("**", "").replace("`", "")
    text = re.sub(r"(?<!\w)\*([^*]+)\*(?!\w)", r"\1", text)
    return text.replace("\u2217", "*").strip()


def _cell_text(cell: dict) -> str:
    if cell["cell_type"] == "markdown":
        return "".join(cell["source"])
    return "\n".join("".join(o.get("data", {}).get("text/markdown", "")) for o in cell.get("outputs", []))


def _bullets(text: str) -> list[str]:
    items, current = [], None
    for line in text.splitlines():
        if line.lstrip().startswith("- "):
            current = line.lstrip()[2:]
            items.append(current)
        elif current is not None and line.strip():
            items[-1] += " " + line.strip()
    return [_plain(item) for item in items]


def _last_image(cell: dict) -> bytes | None:
    images = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    return base64.b64decode(images[-1]) if images else None


def slides_of(report: dict) -> tuple[dict, list[dict]]:
    """(title slide, content slides) read from the executed report."""
    title, subtitle, section, figure = "", [], "", None
    slides = []
    for cell in report["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        text = _cell_text(cell)
        if cell["cell_type"] == "markdown":
            for line in text.splitlines():
                if line.startswith("# ") and not title:
                    title = _plain(line[2:])
                elif line.startswith("## "):
                    section, figure = _plain(line[3:]), None
        if "autores" in tags:
            subtitle.append(_plain(text.split("\n\n")[0]))
        for output in cell.get("outputs", []):
            markdown = "".join(output.get("data", {}).get("text/markdown", ""))
            if markdown.startswith("**Ejecución del pipeline"):
                subtitle.append(_plain(markdown))
        if "figura" in tags:
            figure = _last_image(cell) or figure
        if "diapositiva" in tags:
            slides.append({"title": cell["metadata"].get("slide_title", section), "bullets": _bullets(text),
                           "figure": figure})
    return {"title": title, "subtitle": subtitle}, slides


def _title(slide, text: str, top=MARGIN, size: int = 30):
    box = slide.shapes.add_textbox(MARGIN, top, WIDTH - 2 * MARGIN, TITLE_HEIGHT)
    frame = box.text_frame
    frame.word_wrap = True
    frame.text = text
    run = frame.paragraphs[0].runs[0]
    run.font.size, run.font.bold, run.font.color.rgb = Pt(size), True, ACCENT
    return box


def _text(slide, lines: list[str], left, top, width, height, size: int, bullet: str = "\u2022 "):
    frame = slide.shapes.add_textbox(left, top, width, height).text_frame
    frame.word_wrap = True
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = f"{bullet}{line}"
        paragraph.space_after = Pt(8)
        for run in paragraph.runs:
            run.font.size = Pt(size)


def _picture(slide, png: bytes, left, top, max_width, max_height):
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        ratio = image.width / image.height
    width = min(max_width, int(max_height * ratio))
    height = int(width / ratio)
    slide.shapes.add_picture(io.BytesIO(png), left + (max_width - width) // 2, top, Emu(width), Emu(height))


def build_presentation(report_path: Path, out_path: Path) -> int:
    """Write ``out_path`` from the executed report; returns the number of slides."""
    cover, slides = slides_of(json.loads(Path(report_path).read_text()))
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    blank = deck.slide_layouts[6]

    first = deck.slides.add_slide(blank)
    _title(first, cover["title"], top=Inches(2.2), size=36)
    _text(first, cover["subtitle"], MARGIN, Inches(3.6), WIDTH - 2 * MARGIN, Inches(3), 16, bullet="")

    contents = deck.slides.add_slide(blank)
    _title(contents, CONTENTS)
    titles = list(dict.fromkeys(s["title"] for s in slides))
    _text(contents, titles, MARGIN, MARGIN + TITLE_HEIGHT, WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN - TITLE_HEIGHT,
          20 if len(titles) <= 10 else 17, bullet="")

    body_top = MARGIN + TITLE_HEIGHT
    body_width = WIDTH - 2 * MARGIN
    for spec in slides:
        slide = deck.slides.add_slide(blank)
        _title(slide, spec["title"])
        if spec["figure"]:
            text_height = Inches(0.4) * max(len(spec["bullets"]), 1) + Inches(0.15)
            _text(slide, spec["bullets"], MARGIN, body_top - Inches(0.15), body_width, text_height, 15)
            top = body_top + text_height
            _picture(slide, spec["figure"], MARGIN, top, body_width, HEIGHT - top - Inches(0.3))
        else:
            _text(slide, spec["bullets"], MARGIN, body_top + Inches(0.3), body_width, HEIGHT - body_top - MARGIN, 24)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    deck.save(str(tmp))
    tmp.replace(out_path)
    return len(deck.slides)


if __name__ == "__main__":
    repo = Path(__file__).resolve().parents[1]
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else repo / "Informe Escrito" / "informe.ipynb"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else repo / "Informe Escrito" / "presentacion.pptx"
    print(f"{build_presentation(source, target)} slides in {target}")
