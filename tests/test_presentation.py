"""The slide deck (`scripts/presentation.py`) built from the committed executed report into a temporary
folder: its structure read back with python-pptx (title placeholders, table of contents, a visual on every
content slide, bullets and type sizes, slide numbers, speaker notes timed to 15 minutes), and its rendering
by LibreOffice (PDF, then PNG): no text outside its box or outside the slide. The deck also builds from a
report without figures and without the pipeline's outputs, and refuses a slide of too many bullets. What each
slide and its speaker say is scripts/deck/slides.yaml, with the numbers the report published."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.oxml.ns import qn
from pptx.util import Emu

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "Informe Escrito" / "RafaelJuarez.ipynb"
SCRIPT = REPO / "scripts" / "presentation.py"
CONTRACT = ["Introducción", "Antecedentes", "Objetivos", "Planteamiento del problema",
            "Análisis exploratorio de datos", "Data wrangling", "Dataset final", "Entrenamiento con MLflow",
            "Selección del mejor modelo", "Lo que muestran las imágenes", "Lo que falla", "API y página web",
            "Pistas de color", "Contenedor", "Despliegue en la nube", "Conclusiones", "Referencias"]
MINUTES = re.compile(r"^\((\d+(?:\.5)?) min · ([^)]+)\) (?=\S)")
WORDS_PER_MINUTE = 130
NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")  # a figure, not the 2 of pix2pix or the 1 of L1
FOOTERS = ("Pie de página",)  # the only text allowed under 14 pt (the cover's run line, the running footer)
TOLERANCE = 3.0  # points: glyph boxes reach a little past the line a frame was laid out for


sys.path.insert(0, str(SCRIPT.parent))  # scripts/presentation.py imports the deck package next to it
import presentation  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(deck path, Presentation, the report as the generator read it)."""
    out = tmp_path_factory.mktemp("deck") / "presentacion.pptx"
    presentation.build_presentation(REPORT, out)
    return out, Presentation(str(out)), presentation.read_report(REPORT)


def _titles(deck) -> list[str]:
    return [slide.shapes.title.text_frame.text if slide.shapes.title is not None else None for slide in deck.slides]


def _body(slide):
    return next((s for s in slide.placeholders if s.placeholder_format.idx == 1), None)


def _walk(shapes, transform=lambda box: box):
    """Every shape with its box in slide coordinates (EMU), through groups."""
    for shape in shapes:
        box = transform((shape.left, shape.top, shape.width, shape.height))
        yield shape, box
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            xfrm = shape._element.grpSpPr.find(qn("a:xfrm"))
            off, ext = xfrm.find(qn("a:off")), xfrm.find(qn("a:ext"))
            ch_off, ch_ext = xfrm.find(qn("a:chOff")), xfrm.find(qn("a:chExt"))
            sx = int(ext.get("cx")) / max(int(ch_ext.get("cx")), 1)
            sy = int(ext.get("cy")) / max(int(ch_ext.get("cy")), 1)

            def child(b, off=off, ch_off=ch_off, sx=sx, sy=sy, outer=transform):
                return outer((int(off.get("x")) + (b[0] - int(ch_off.get("x"))) * sx,
                              int(off.get("y")) + (b[1] - int(ch_off.get("y"))) * sy, b[2] * sx, b[3] * sy))

            yield from _walk(shape.shapes, child)


def _pt(run) -> float | None:
    return run.font.size.pt if run.font.size is not None else None


def _box(box) -> str:
    x, y, w, h = box
    return f"({x:.0f}, {y:.0f}, {x + w:.0f}, {y + h:.0f}) pt"


def _is_visual(shape) -> bool:
    if not shape.name.startswith("Visual"):
        return False
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return len(shape.shapes) >= 3  # a diagram, not a lone label
    return shape.shape_type == MSO_SHAPE_TYPE.PICTURE or shape.has_chart or shape.has_table


def test_the_deck_is_16_9_a_cover_contents_then_one_slide_per_entry_of_the_slides_file(built):
    _, deck, report = built
    assert deck.slide_width * 9 == deck.slide_height * 16, (deck.slide_width, deck.slide_height)
    assert len(deck.slides) == 2 + len(report.slides), "a cover, the contents, one slide per entry of slides.yaml"
    assert 14 <= len(deck.slides) <= 20, f"{len(deck.slides)} slides: a 15-minute talk wants about 14 to 20"
    cover = _body(deck.slides[0]).text_frame.text
    assert _titles(deck)[0] == report.title and report.authors in cover
    assert re.search(r"\b\d{1,2} de [a-z]+ de 20\d\d\b", cover), f"the cover gives no date: {cover!r}"
    large = [r.text for s in deck.slides[0].shapes if s.has_text_frame and s.name not in FOOTERS
             for p in s.text_frame.paragraphs for r in p.runs]
    assert not [t for t in large if re.search(r"\b[0-9a-f]{32}\b", t) or (report.lock and report.lock in t)], (
        f"the cover shows a run id or the dvc.lock hash in large type: {large}")
    if all(s.title in CONTRACT for s in report.slides):  # the report follows the slide contract
        assert [s.title for s in report.slides] == CONTRACT


def test_each_title_is_in_its_slides_title_placeholder(built):
    _, deck, report = built
    expected = [report.title, presentation.CONTENTS, *(s.title for s in report.slides)]
    for number, (slide, title) in enumerate(zip(deck.slides, expected), start=1):
        heading = slide.shapes.title
        assert heading is not None and heading.is_placeholder, f"slide {number}: no title placeholder"
        assert heading.placeholder_format.type in (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE), number
        assert heading.text_frame.text == title, f"slide {number}: {heading.text_frame.text!r}, not {title!r}"
        others = [s.name for s in slide.shapes if s.has_text_frame and s != heading and s.text_frame.text == title]
        assert not others, f"slide {number}: its title is also typed in {others}, outside the placeholder"


def test_the_contents_lists_the_slides_in_one_part_per_speaker(built):
    """The contents: one card per part of the talk, headed by its name and its speaker (a different author
    each), with the numbers of its slides and their titles; the parts together list every slide after the
    contents, in order, and each part's slides are the ones its speaker presents."""
    _, deck, report = built
    titles = _titles(deck)
    shapes = {shape.name: shape for shape in deck.slides[1].shapes}
    parts = sorted(int(name.rsplit(" ", 1)[1]) for name in shapes if name.startswith("Contenido: orador "))
    assert len(parts) == 3, f"{len(parts)} parts in the contents, not one per speaker"
    listed, speakers = [], []
    for k in parts:
        name, speaker = [p.text for p in shapes[f"Contenido: orador {k}"].text_frame.paragraphs][:2]
        items = [p.text for p in shapes[f"Contenido: diapositivas {k}"].text_frame.paragraphs]
        numbers = [titles.index(t) + 1 for t in items]
        assert numbers == list(range(numbers[0], numbers[-1] + 1)), f"part {k}: {items} are not consecutive slides"
        span = shapes[f"Contenido: números {k}"].text_frame.text
        assert span == f"diapositivas {numbers[0]} a {numbers[-1]}", f"part {k}: {span!r} for slides {numbers}"
        presenters = {MINUTES.match(deck.slides[n - 1].notes_slide.notes_text_frame.text).group(2) for n in numbers}
        assert presenters == {speaker}, f"part {k} ({name}) names {speaker!r}; its slides are presented by {presenters}"
        listed += items
        speakers.append(speaker)
    assert listed == list(dict.fromkeys(titles[2:])), f"contents {listed} != the slide titles {titles[2:]}"
    assert len(set(speakers)) == 3 and all(s in report.authors for s in speakers), speakers


def test_every_content_slide_has_a_picture_chart_table_or_diagram(built):
    _, deck, _ = built
    bare = [f"{n}: {t}" for n, (slide, t) in enumerate(zip(deck.slides, _titles(deck)), start=1)
            if n > 2 and not any(_is_visual(s) for s in slide.shapes)]
    assert not bare, f"slides without a visual: {bare}"


def test_no_shape_reaches_outside_the_slide(built):
    _, deck, _ = built
    outside = [f"slide {n}: {shape.name!r} {_box(tuple(Emu(int(v)).pt for v in box))}"
               for n, slide in enumerate(deck.slides, start=1) for shape, box in _walk(slide.shapes)
               if box[0] < 0 or box[1] < 0 or box[0] + box[2] > deck.slide_width + 1 or
               box[1] + box[3] > deck.slide_height + 1]
    assert not outside, "\n".join(outside)


def test_at_most_four_bullets_body_text_from_18_pt_and_every_other_label_from_14_pt(built):
    _, deck, _ = built
    problems = []
    for number, slide in enumerate(deck.slides, start=1):
        body = _body(slide)
        if body is not None and number > 2:
            paragraphs = [p for p in body.text_frame.paragraphs if p.text.strip()]
            if len(paragraphs) > 4:
                problems.append(f"slide {number}: {len(paragraphs)} bullets")
            problems += [f"slide {number}: body text {r.text[:30]!r} at {_pt(r)} pt"
                         for p in paragraphs for r in p.runs if (_pt(r) or 0) < 18]
        for shape, _ in _walk(slide.shapes):
            if shape.has_text_frame and shape.name not in FOOTERS:
                problems += [f"slide {number}: {shape.name!r} text {r.text[:30]!r} at {_pt(r)} pt"
                             for p in shape.text_frame.paragraphs for r in p.runs
                             if r.text.strip() and (_pt(r) or 0) < 14]
            if getattr(shape, "has_chart", False):
                sizes = [int(v) / 100 for v in re.findall(rb'\bsz="(\d+)"', shape.chart.part.blob)]
                if not sizes or min(sizes) < 14:
                    problems.append(f"slide {number}: chart {shape.name!r} has text at {sizes} pt")
            if getattr(shape, "has_table", False):
                problems += [f"slide {number}: table text {r.text[:30]!r} at {_pt(r)} pt"
                             for row in shape.table.rows for cell in row.cells for p in cell.text_frame.paragraphs
                             for r in p.runs if (_pt(r) or 0) < 14]
    assert not problems, "\n".join(problems)


def test_every_slide_but_the_cover_shows_its_number(built):
    _, deck, _ = built
    for number, slide in enumerate(deck.slides, start=1):
        fields = [f for s in slide.shapes if s.has_text_frame for f in s._element.iter(qn("a:fld"))
                  if f.get("type") == "slidenum"]
        if number == 1:
            continue
        assert len(fields) == 1, f"slide {number}: {len(fields)} slide-number fields"
        assert fields[0].find(qn("a:t")).text == str(number), f"slide {number}: its number field says otherwise"


def test_the_speaker_notes_time_a_15_minute_talk_for_three_speakers(built):
    """Each slide's notes say its minutes and who presents it; about 5 minutes each for the three authors, at
    about 130 words a minute; every number in them is one the report published (none typed by hand)."""
    _, deck, report = built
    minutes, by_speaker, words = [], {}, {}
    published = " ".join(report.facts.values())
    for number, slide in enumerate(deck.slides, start=1):
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
        found = MINUTES.match(notes)
        assert found, f"slide {number}: notes must start with '(1 min · Name)' or '(1.5 min · Name)': {notes[:40]!r}"
        m, who = float(found.group(1)), found.group(2)
        assert who in report.authors, f"slide {number}: {who!r} is not one of the authors {report.authors!r}"
        minutes.append(m)
        by_speaker[who] = by_speaker.get(who, 0) + m
        words[who] = words.get(who, 0) + len(notes[found.end():].split())
        typed = [n for n in NUMBER.findall(notes[found.end():]) if n not in published]
        assert not typed, f"slide {number}: {typed} in the notes are not numbers the report published"
    assert sum(minutes) == 15, f"the notes' minutes add up to {sum(minutes)}, not 15: {minutes}"
    assert len(by_speaker) == 3 and all(4 <= m <= 6 for m in by_speaker.values()), by_speaker
    for who, m in by_speaker.items():
        rate = words[who] / m
        assert 0.8 * WORDS_PER_MINUTE <= rate <= 1.2 * WORDS_PER_MINUTE, f"{who}: {rate:.0f} words a minute"


def test_the_slides_file_covers_the_contract_and_lasts_15_minutes():
    notes = yaml.safe_load(presentation.NOTES_FILE.read_text(encoding="utf-8"))
    assert list(notes) == [presentation.COVER, presentation.CONTENTS, *CONTRACT]
    assert sum(n["minutos"] for n in notes.values()) == 15
    assert all(n["notas"].strip() and n["presenta"] for n in notes.values())
    assert all(len(n.get("puntos", [])) <= 4 for n in notes.values())


@pytest.mark.parametrize("extra", [0, 1, 6])
def test_a_deck_of_other_slides_still_gets_15_minutes_in_half_minutes(extra):
    notes = yaml.safe_load(presentation.NOTES_FILE.read_text(encoding="utf-8"))
    titles = [presentation.COVER, presentation.CONTENTS, *CONTRACT[:10], *(f"Otra {i}" for i in range(extra))]
    minutes = presentation.talk_minutes(titles, notes)
    assert sum(minutes) == 15 and all(m >= 0.5 and (2 * m).is_integer() for m in minutes), minutes


def _bare_copy(tmp_path: Path, edit=None) -> Path:
    """The committed report without any figure (no 'figura' tag, no image output), edited by ``edit``."""
    nb = json.loads(REPORT.read_text())
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "figura" in tags:
            tags.remove("figura")
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if not {"image/png", "image/jpeg"} & set(o.get("data", {}))]
    if edit:
        edit(nb)
    path = tmp_path / "RafaelJuarez.ipynb"
    path.write_text(json.dumps(nb, ensure_ascii=False))
    return path


def test_without_figures_and_outputs_every_slide_still_gets_a_visual(tmp_path):
    out = tmp_path / "deck.pptx"
    count = presentation.build_presentation(_bare_copy(tmp_path), out, root=tmp_path)  # no dvc.lock there
    deck = Presentation(str(out))
    assert count == len(deck.slides)
    bare = [n for n, slide in enumerate(deck.slides, start=1) if n > 2 and not any(_is_visual(s) for s in slide.shapes)]
    assert not bare, f"slides without a visual when the report has no figure: {bare}"


def test_a_slide_of_five_bullets_or_an_unknown_fact_is_refused_with_a_clear_message(tmp_path):
    slides = yaml.safe_load(presentation.NOTES_FILE.read_text(encoding="utf-8"))
    slides["Introducción"]["puntos"] = [f"punto {i}" for i in range(5)]
    five = tmp_path / "five.yaml"
    five.write_text(yaml.safe_dump(slides, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="5 bullets, at most 4"):
        presentation.build_presentation(_bare_copy(tmp_path), tmp_path / "deck.pptx", root=tmp_path, slides_file=five)
    slides["Introducción"]["puntos"] = ["FID {{champion.nonexistent}}"]
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(yaml.safe_dump(slides, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="no fact named champion.nonexistent"):
        presentation.build_presentation(_bare_copy(tmp_path), tmp_path / "deck.pptx", root=tmp_path, slides_file=unknown)


# --- the rendering ------------------------------------------------------------------------------------------
def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _text_boxes(slide) -> tuple[list, list]:
    """([(name, text, box in points)] of the shapes with text, [(name, box)] of charts, tables, pictures)."""
    texts, frames = [], []
    for shape, box in _walk(slide.shapes):
        points = tuple(Emu(int(v)).pt for v in box)
        if shape.has_text_frame and shape.text_frame.text.strip():
            texts.append((shape.name, _normal(shape.text_frame.text), points))
        elif getattr(shape, "has_chart", False) or getattr(shape, "has_table", False):
            frames.append((shape.name, points))
    return texts, frames


def _inside(bbox, box, tolerance: float = TOLERANCE) -> bool:
    x0, y0, x1, y1 = bbox
    left, top, width, height = box
    return (x0 >= left - tolerance and y0 >= top - tolerance and x1 <= left + width + tolerance
            and y1 <= top + height + tolerance)


@pytest.fixture(scope="module")
def rendered(built, tmp_path_factory):
    if not (shutil.which("soffice") and shutil.which("pdftoppm")):
        pytest.skip("LibreOffice and poppler are not installed: apt-get install libreoffice-impress poppler-utils")
    pymupdf = pytest.importorskip("pymupdf", reason="pip install pymupdf (the dev extra)")
    path, deck, _ = built
    out = tmp_path_factory.mktemp("rendered")
    profile = out / "profile"  # a LibreOffice profile of its own: no clash with another soffice
    result = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                             "--outdir", str(out), str(path)], capture_output=True, text=True, timeout=300)
    pdf = out / (path.stem + ".pdf")
    assert result.returncode == 0 and pdf.is_file(), f"soffice failed:\n{result.stdout}\n{result.stderr}"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / "slide")], check=True, timeout=300)
    return pymupdf.open(str(pdf)), sorted(out.glob("slide*.png"))


@pytest.mark.slow
def test_libreoffice_renders_every_slide(built, rendered):
    from PIL import Image

    _, deck, _ = built
    pdf, pngs = rendered
    assert pdf.page_count == len(deck.slides) == len(pngs)
    for png in pngs:
        with Image.open(png) as image:
            low, high = image.convert("L").getextrema()
        assert high - low > 50, f"{png.name} is blank"


@pytest.mark.slow
def test_no_rendered_text_leaves_its_box_or_the_slide(built, rendered):
    _, deck, _ = built
    pdf, _ = rendered
    problems = []
    for number, (slide, page) in enumerate(zip(deck.slides, pdf), start=1):
        texts, frames = _text_boxes(slide)
        width, height = page.rect.width, page.rect.height
        for block in page.get_text("dict")["blocks"]:
            for line in block.get("lines", []):
                for span in line["spans"]:
                    text, bbox = _normal(span["text"]), span["bbox"]
                    if not text:
                        continue
                    x0, y0, x1, y1 = bbox
                    where = f"slide {number}: {text[:40]!r} at {_box((x0, y0, x1 - x0, y1 - y0))}"
                    if not _inside(bbox, (0, 0, width, height), tolerance=0.5):
                        problems.append(f"{where} is outside the slide")
                        continue
                    # its box: a shape whose text has it; a chart's or a table's text is only known to its frame
                    owners = [(name, box) for name, full, box in texts if text in full]
                    if any(_inside(bbox, box) for _, box in owners + frames):
                        pass
                    elif owners:
                        name, box = owners[0]
                        problems.append(f"{where} overflows its box {name!r} {_box(box)}")
                    elif not any(_inside(bbox, box) for *_, box in texts):
                        problems.append(f"{where} is in no text box, chart or table")
                    if span["size"] < 13.5 and not any(text in full for name, full, _ in texts if name in FOOTERS):
                        problems.append(f"{where} is rendered at {span['size']:.1f} pt (at least 14)")
    assert not problems, "\n".join(problems)
