"""The committed deliverables tell one story with one set of numbers: every count, percentage and metric that
appears in more than one of them (the report, the EDA, the deck's slides and notes, the README) comes from the
facts the executed notebooks published (chromatic_charm.story), and those agree with the pipeline's metrics
files in git. One number convention throughout: a decimal point, a thousands comma, "48%"."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from pptx import Presentation

from chromatic_charm import story

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import deliverables  # noqa: E402
from deck.report import fill as deck_fill  # noqa: E402

REPORT, EDA = REPO / deliverables.NOTEBOOKS["report"], REPO / deliverables.NOTEBOOKS["eda"]


def _facts(path: Path) -> dict[str, str]:
    return deliverables.collect_facts(json.loads(path.read_text()))


@pytest.fixture(scope="module")
def report_facts() -> dict[str, str]:
    facts = _facts(REPORT)
    assert facts, "the committed report published no facts: python scripts/deliverables.py build"
    return facts


def test_the_eda_and_the_report_give_the_same_data_numbers(report_facts):
    eda = _facts(EDA)
    shared = sorted(set(eda) & set(report_facts))
    assert {"data.scanned", "data.kept", "data.train", "colour.below10", "colour.hue1", "run.lock"} <= set(shared)
    differ = {k: (eda[k], report_facts[k]) for k in shared if eda[k] != report_facts[k]}
    assert not differ, f"the EDA and the report disagree: {differ}"


def test_every_prose_template_of_the_report_shows_its_facts(report_facts):
    nb = json.loads(REPORT.read_text())
    templates = [c for c in nb["cells"] if c["cell_type"] == "markdown" and "template" in c.get("metadata", {})]
    assert len(templates) >= 10, "the report's prose with numbers is Markdown templates"
    for cell in templates:
        assert "".join(cell["source"]) == story.fill(cell["metadata"]["template"], report_facts)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"].get("jupyter", {}).get("source_hidden") for c in code), "the report hides its code"
    assert not any("diapositiva" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]), \
        "slide bullets live in scripts/deck/slides.yaml, not in the report"


def test_the_report_quotes_the_metrics_files_in_git(report_facts):
    champion = json.loads((REPO / "metrics" / "champion.json").read_text())
    key = champion["run_name"].removeprefix("pipeline-")
    metrics = json.loads((REPO / "metrics" / "evaluation" / f"{key}.json").read_text())["metrics"]
    l1 = json.loads((REPO / "metrics" / "baseline" / "l1.json").read_text())["metrics"]
    assert report_facts["champion.name"] == champion["run_name"]
    assert report_facts["champion.fid"] == story.number(metrics["test_fid"], 1)
    assert report_facts["champion.kid"] == story.number(metrics["test_kid"], 4)
    assert report_facts["champion.ciede2000"] == story.number(metrics["test_ciede2000"], 2)
    assert report_facts["gray.ciede2000"] == story.number(metrics["test_ciede2000_gray"], 2)
    assert report_facts["gray.fid"] == story.number(metrics["test_fid_baseline_gray"], 1)
    assert report_facts["l1.fid"] == story.number(l1["test_fid"], 1)
    # the verdict against gray is the interval's: "sin diferencia" exactly when it holds zero
    low, high = metrics["test_ciede2000_vs_gray_lo"], metrics["test_ciede2000_vs_gray_hi"]
    assert (report_facts["champion_vs_gray.ciede2000.verdict"] == "sin diferencia") == (low <= 0 <= high)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert report_facts["runs.count"] == str(len(params["sweep"]))


def test_the_readme_quotes_the_report():
    assert deliverables.readme_problems(REPO) == []


def _deck_texts(deck) -> tuple[list[str], list[str]]:
    """(each slide's body bullets, each slide's notes), in order."""
    bullets, notes = [], []
    for slide in deck.slides:
        body = next((s for s in slide.placeholders if s.placeholder_format.idx == 1), None)
        bullets.append([p.text for p in body.text_frame.paragraphs if p.text.strip()] if body is not None else [])
        notes.append(slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else "")
    return bullets, notes


def test_the_committed_deck_says_what_the_slides_file_says_with_the_reports_numbers(report_facts):
    deck = Presentation(str(REPO / deliverables.PRESENTATION))
    slides = yaml.safe_load((REPO / "scripts" / "deck" / "slides.yaml").read_text(encoding="utf-8"))
    titles = [s.shapes.title.text_frame.text for s in list(deck.slides)[2:]]
    assert titles == [t for t in slides if t not in ("Portada", "Contenido")]
    bullets, notes = _deck_texts(deck)
    for (title, entry), said in zip(slides.items(), notes):
        expected = deck_fill(" ".join(entry["notas"].split()), report_facts, title)
        assert said.endswith(expected), f"the notes of {title!r} are not slides.yaml's with the report's facts"
    for title, shown in zip(titles, bullets[2:]):
        expected = [re.sub(r"[*`]", "", deck_fill(b, report_facts, title)) for b in slides[title].get("puntos", [])]
        assert [re.sub(r"[*`]", "", b) for b in shown] == expected, title


def test_one_number_convention_in_every_deliverable():
    found = []
    for name, path in deliverables.NOTEBOOKS.items():
        nb = json.loads((REPO / path).read_text())
        found += [f"{name}: {p}" for p in deliverables.problems(nb) if "number convention" in p]
    deck = Presentation(str(REPO / deliverables.PRESENTATION))
    bullets, notes = _deck_texts(deck)
    for number, text in enumerate([" ".join(b) for b in bullets] + notes, start=1):
        found += [f"deck text {number}: {bad!r}" for bad in deliverables.number_style(text)]
    readme = deliverables.README_BLOCK.search((REPO / "README.md").read_text()).group(2)
    found += [f"README: {bad!r}" for bad in deliverables.number_style(readme)]
    assert not found, "\n".join(found)


def test_the_photo_set_is_described_by_its_sources_everywhere():
    texts = {name: json.dumps(json.loads((REPO / path).read_text())["cells"], ensure_ascii=False)
             for name, path in deliverables.NOTEBOOKS.items()}
    texts["slides"] = (REPO / "scripts" / "deck" / "slides.yaml").read_text(encoding="utf-8")
    for name, text in texts.items():
        assert not re.search(r"fotos (de licencia abierta )?del equipo", text), f"{name} calls the photos the team's"
    assert story.SOURCE_PHRASE in texts["report"] and "paquetes de Debian y juegos" in texts["eda"]


@pytest.mark.parametrize("text, bad", [("arranca en 1,5 s", ["1,5"]), ("el 48 % de", ["8 %"]),
                                       ("36,000 fotos y 0.0002", []), ("FID 72.3; 1,234.5", [])])
def test_the_number_convention_check_tells_good_from_bad(text, bad):
    assert deliverables.number_style(text) == bad

