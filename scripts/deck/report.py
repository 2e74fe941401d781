"""What the deck takes from the executed report, and what it says on each slide. The contract:

- the first `# ` heading is the cover's title, the cell tagged `autores` its authors, and the code output
  that starts with `**Ejecución del pipeline` names the run (a short line of it on the cover, the
  `dvc.lock` hash only in the small footer);
- the facts the report published (`chromatic_charm.story.publish`) fill the slides' templates;
- the slides are `slides.yaml`'s, in order (not the report's: the report is a document, not slide bullets):
  each one's bullets are its `puntos` with the report's facts filled in, and its fallback figure the last
  image of a cell tagged `figura` in its `seccion` of the report (a `## `, `### ` or `#### ` heading starts a
  section, named by its heading with its number);
- the parameters cell gives the report's parameters, and its reference list the references with a year.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from chromatic_charm import story
from chromatic_charm.story import FACTS_MIME

SLIDES_FILE = Path(__file__).with_name("slides.yaml")


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
    facts: dict = field(default_factory=dict)  # what the report published: the templates' numbers
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
    """The cell's last figure: a chart (PNG) or a grid of photos (JPEG, as the report embeds them)."""
    images = [o["data"][kind] for o in cell.get("outputs", []) for kind in ("image/png", "image/jpeg")
              if kind in o.get("data", {})]
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


MINUS = re.compile(r"(?<![\w.])-(?=\d)")  # a hyphen before a figure, not the one of 2026-12-07 or 1e-4


def typeset(text: str) -> str:
    """The deck's typography on the filled text: a negative number's sign is the minus sign (U+2212), as on
    the charts and diagrams, not the hyphen the report's facts are written with."""
    return MINUS.sub("\u2212", text)


def fill(template: str, facts: dict, where: str) -> str:
    """``template`` with its ``{{name}}`` placeholders filled from the report's facts (typeset); an unknown
    name raises."""
    lacking = story.missing(template, facts)
    if lacking:
        raise ValueError(f"{where}: the report published no fact named {', '.join(lacking)} (is it executed?)")
    return typeset(story.fill(template, facts))


def read_slides(slides_file: Path = SLIDES_FILE) -> dict:
    """The deck's slides by title, in order (``slides.yaml``)."""
    return yaml.safe_load(Path(slides_file).read_text(encoding="utf-8"))


def read_report(path: Path, slides_file: Path = SLIDES_FILE) -> Report:
    """What the deck takes from the executed report, and its slides (see the module docstring)."""
    report, section, figures = Report(), "", {}
    for cell in json.loads(Path(path).read_text())["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        text = _cell_text(cell)
        if cell["cell_type"] == "markdown":
            for line in _prose_lines(text):
                if line.startswith("# ") and not report.title:
                    report.title = _plain(line[2:])
                elif line.startswith(("## ", "### ", "#### ")):
                    section = _plain(line.split(" ", 1)[1])
                elif found := REFERENCE.match(line):
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
            report.facts.update(output.get("data", {}).get(FACTS_MIME, {}))
        if "figura" in tags and (image := _last_image(cell)):
            figures[section] = image
    for title, entry in read_slides(slides_file).items():
        if title in ("Portada", "Contenido"):
            continue
        bullets = [_plain(fill(b, report.facts, f"slide {title!r}")) for b in entry.get("puntos", [])]
        report.slides.append(SlideSpec(title, bullets, figures.get(entry.get("seccion", title))))
    return report


def cover_lines(run_line: str) -> tuple[str, str]:
    """(the cover's short line, the footer's small line) from the report's run line: the MLflow runs,
    the champion and the export date in the first; the dvc.lock hash and the data version in the second."""
    body = re.sub(r"^Ejecución del pipeline[^:]*:\s*", "", run_line).rstrip(".")
    parts = [p.strip() for p in body.split(";") if p.strip()]
    technical = [p for p in parts if p.startswith(("dvc.lock", "datos"))]
    short = [re.sub(r"\s*\((corrida|versión) [^)]*\)", "", p) for p in parts if p not in technical]
    return " · ".join(short), " · ".join(technical)
