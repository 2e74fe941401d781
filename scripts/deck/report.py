"""What the deck takes from the executed report. What the report says is the deck's contract:

- the first `# ` heading is the cover's title, the cell tagged `autores` its authors, and the code output
  that starts with `**Ejecución del pipeline` names the run (a short line of it on the cover, the
  `dvc.lock` hash only in the small footer);
- each cell tagged `diapositiva` is one slide: its title is the cell's metadata `slide_title` (else its
  section's heading), its bullets the markdown list of the cell or of what it displayed (at most 6);
- a cell tagged `figura` gives its last image to the following `diapositiva` cells of its section (a `## `
  or `### ` heading starts a new section);
- the parameters cell gives the report's parameters, and its reference list the references with a year.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


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


def cover_lines(run_line: str) -> tuple[str, str]:
    """(the cover's short line, the footer's small line) from the report's run line: the MLflow runs,
    the champion and the export date in the first; the dvc.lock hash and the data version in the second."""
    body = re.sub(r"^Ejecución del pipeline[^:]*:\s*", "", run_line).rstrip(".")
    parts = [p.strip() for p in body.split(";") if p.strip()]
    technical = [p for p in parts if p.startswith(("dvc.lock", "datos"))]
    short = [re.sub(r"\s*\((corrida|versión) [^)]*\)", "", p) for p in parts if p not in technical]
    return " · ".join(short), " · ".join(technical)
