"""The course deliverables from one pipeline run: execute the notebooks on what `dvc repro` wrote,
clean their saved outputs, check them, and build the PowerPoint from the executed report.

    python scripts/deliverables.py build   # after `dvc repro`: EDA, training, report, then the .pptx
    python scripts/deliverables.py build --only eda deck   # some of them
    python scripts/deliverables.py build --force   # execute even what is up to date
    python scripts/deliverables.py check   # the committed notebooks' saved outputs, as CI checks them

A deliverable is rebuilt only when what it is built from changed (`SOURCES`: the pipeline run, the
package, this script, and the notebook's own cells; the deck: the report and its builder). Each records
the digest of those in its metadata: a build with nothing changed leaves every file as it is (the training
notebook trains a short real run and the report times the API on every execution, so a needless
execution would change them).

A notebook's saved outputs must read as a course deliverable: no error, no stderr (warnings, progress
bars), no widget state, no absolute path of the machine that ran it, and no English sentence (the
deliverables speak Spanish; code and column names of metrics may stay as they are).

**Prose with numbers is Markdown with placeholders.** A Markdown cell whose metadata has a ``template``
shows that template with each ``{{name}}`` filled from the facts the executed notebook published
(``chromatic_charm.story.publish``): the build fills them after executing it, so the numbers in the prose are
the run's and none is typed by hand. To edit such a cell, edit its ``template`` (the text shown is rewritten
from it at every build). Numbers follow one convention: a decimal point, a thousands comma, "48%".

The report is also exported to HTML without its code (``REPORT_HTML``), the document a reader opens, and the
README's paragraph on the default model (between ``<!-- facts:model -->`` and ``<!-- /facts -->``) is
``README_TEMPLATE`` filled with the report's facts: the README quotes the numbers the report does.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import html
import json
import re
import subprocess
import sys
from pathlib import Path

from chromatic_charm.story import FACTS_MIME, fill, missing

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"eda": Path("EDA/EDA.ipynb"), "training": Path("Entrenamiento/training.ipynb"),
             "report": Path("Informe Escrito/RafaelJuarez.ipynb")}
PRESENTATION = Path("Informe Escrito/presentacion.pptx")
REPORT_HTML = Path("Informe Escrito/RafaelJuarez.html")  # the report as a document: its outputs, no code
README = Path("README.md")
README_BLOCK = re.compile(r"(<!-- facts:model -->\n)(.*?)(<!-- /facts -->)", re.S)
README_TEMPLATE = """\
A U-Net on an ImageNet-pretrained EfficientNet-Lite0 encoder, trained on {{data.scanned}} openly licensed photos
from Debian packages and games (`Data/Raw Data/photos`: {{data.train}} for training, split by groups of related photos)
by the committed `dvc repro`
on a 2-core CPU: {{l1.epochs}} epochs on L1, then {{gan.epochs}} of pix2pix's loss; the champion by validation FID
({{champion.val_fid}} on {{val.photos}} photos) of {{runs.count}} adversarial runs is `{{champion.name}}`. On the
{{eval.photos}} test photos ({{eval.images}} views), which played no part in the choice:
FID {{champion.fid}} against the gray input's {{gray.fid}}, KID {{champion.kid}} ({{gray.kid}}), PSNR
{{champion.psnr}} dB ({{gray.psnr}}; paired difference {{champion_vs_gray.psnr}}, {{champion_vs_gray.psnr.verdict_en}}),
CIEDE2000 {{champion.ciede2000}} ({{gray.ciede2000}}; {{champion_vs_gray.ciede2000}},
{{champion_vs_gray.ciede2000.verdict_en}}), colourfulness {{champion.colourfulness}} (the truth's
{{champion.colourfulness_real}}). Against the control, the L1-only run trained as many more epochs without the
discriminator (what the adversarial loss adds beyond more training): KID {{champion_vs_control.kid_en}}
({{champion_vs_control.kid.verdict_en}}), CIEDE2000 {{champion_vs_control.ciede2000}}
({{champion_vs_control.ciede2000.verdict_en}}), colourfulness {{champion_vs_control.colourfulness}}
({{champion_vs_control.colourfulness.verdict_en}}); seeds of one recipe
span FID {{seeds.fid_range_en}}. With {{eval.photos}} photos FID's small-N bias dominates: read KID and the intervals.
A few hundred photos teach skies, sea and foliage, not much else: train on Places365 on a GPU for real use.
Numbers from the report (`Informe Escrito/`); through the API on outside photos: [docs/model.md](docs/model.md).
"""
MAX_NOTEBOOK_BYTES = 2_000_000
MAX_HTML_BYTES = 5_000_000
# Parameters the pipeline executes each notebook with: the committed run (no progress bars anywhere).
PIPELINE_PARAMETERS = {"eda": {}, "training": {"train_new": False, "progress": False}, "report": {}}

# What every deliverable is built from (files, or folders read whole), and what the deck adds.
SOURCES = ("dvc.lock", "params.yaml", "src/chromatic_charm", "scripts/deliverables.py")
DECK_SOURCES = ("scripts/presentation.py", "scripts/deck")
# The screenshots the report and the deck show, retaken before the report is executed: the MLflow UI on this
# project's store, and the running web page (each script exits non-zero, saying why, without chromium).
SCREENSHOTS = (["scripts/mlflow_screenshots.py"], ["scripts/page_screenshots.py", "--lang", "es", "--out", "Informe Escrito/pagina"])

# English words that are not also Spanish words: one of them in an output is an English sentence.
ENGLISH_WORDS = frozenset(
    "the and of with is are was were this that these those from for not have has been will could would should which "
    "when into without found missing please there their it its an be by or on at as if then than".split())
# A word: letters not joined to digits or underscores, so that the letters of a hex digest (the "be" of
# `d7e8be87`) or of an identifier are no word.
_WORD = re.compile(r"(?<![\w])[A-Za-zÀ-ÿ]+(?:'[a-z]+)?(?![\w])")
# An absolute path: a slash that starts a path of two or more parts, not inside a URL, a relative
# path or a model reference (models:/name), or a Windows drive.
_ABSOLUTE = re.compile(r"(?<![\w.:/~@-])/(?:[\w.-]+/)+[\w.-]*|sqlite:////|\b[A-Z]:\\\\")
_FENCED = re.compile(r"```.*?```", re.S)
# The number convention: a decimal point and a thousands comma, "48%". A decimal comma ("1,5 s", "0,25") or a
# space before % ("48 %") breaks it; "36,000" (three digits after the comma) is a thousands comma.
_DECIMAL_COMMA = re.compile(r"(?<![\w.,])\d+,(?:\d{1,2}|\d{4,})(?![\d,])")
_SPACED_PERCENT = re.compile(r"\d\s%")


def form_parameters(notebook: Path) -> dict:
    """The values of the notebook's parameters cell (the one papermill replaces), by name. papermill
    injects a name that cell lacks without a word, so callers check theirs against these."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    form = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse("".join(form["source"])).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


def output_text(output: dict) -> str:
    """What a reader sees of one output: the stream, the plain/markdown text, or the error."""
    if output["output_type"] == "stream":
        return "".join(output.get("text", ""))
    if output["output_type"] == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    data = output.get("data", {})
    if any(key.startswith("image/") for key in data):  # a figure: its text/plain repr is not what a reader sees
        return "".join(data.get("text/markdown", ""))
    return "".join(data.get("text/markdown", data.get("text/plain", "")))


def _strip_code_spans(text: str) -> str:
    return re.sub(r"`[^`]*`", " ", text)


def english_words(text: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(_strip_code_spans(text))]
    return sorted({w for w in words if w in ENGLISH_WORDS})


def absolute_paths(text: str) -> list[str]:
    """Absolute paths outside fenced code blocks (a quoted Dockerfile's /app is the image's, not a
    machine's; the folder a notebook ran in is caught everywhere by ``problems``' ``forbidden``)."""
    return sorted({m.group(0).strip() for m in _ABSOLUTE.finditer(_FENCED.sub(" ", text))})


def number_style(text: str) -> list[str]:
    """What in ``text`` breaks the number convention (code spans and fenced blocks left out)."""
    text = _strip_code_spans(_FENCED.sub(" ", text))
    return sorted({m.group(0) for m in _DECIMAL_COMMA.finditer(text)} | {m.group(0) for m in _SPACED_PERCENT.finditer(text)})


def collect_facts(nb: dict) -> dict[str, str]:
    """Every fact the executed notebook published (``story.publish``), later cells overriding earlier ones."""
    facts: dict[str, str] = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            facts.update(output.get("data", {}).get(FACTS_MIME, {}))
    return facts


def fill_templates(nb: dict, facts: dict[str, str], where: str = "") -> dict:
    """Each Markdown cell with a ``template`` in its metadata gets the template with its placeholders
    filled from ``facts``; a placeholder no cell published stops the build, naming it."""
    for number, cell in enumerate(nb["cells"]):
        template = cell.get("metadata", {}).get("template")
        if cell["cell_type"] != "markdown" or template is None:
            continue
        lacking = missing(template, facts)
        if lacking:
            sys.exit(f"{where} cell {number}: no fact named {', '.join(lacking)}: publish it "
                     "(chromatic_charm.story.publish) in a cell before, or fix the template's name")
        text = fill(template, facts)
        cell["source"] = text.splitlines(keepends=True)
    return nb


def readme_paragraph(facts: dict[str, str]) -> str:
    """The README's paragraph on the default model, from the report's facts."""
    lacking = missing(README_TEMPLATE, facts)
    if lacking:
        sys.exit(f"README_TEMPLATE asks for facts the report did not publish: {', '.join(lacking)}")
    return fill(README_TEMPLATE, facts)


def readme_problems(root: Path) -> list[str]:
    """The README's paragraph on the default model differs from the committed report's facts."""
    facts = collect_facts(json.loads((root / NOTEBOOKS["report"]).read_text()))
    found = README_BLOCK.search((root / README).read_text())
    if found is None:
        return [f"{README}: no <!-- facts:model --> block"]
    if not facts:
        return [f"{NOTEBOOKS['report']}: published no facts (not executed?)"]
    return [] if found.group(2) == readme_paragraph(facts) else \
        [f"{README}: the default model's paragraph is not the report's numbers: scripts/deliverables.py build --only report"]


def export_html(notebook: Path, out: Path) -> int:
    """The notebook as one HTML document with its outputs and Markdown but no code (nbconvert's
    ``--no-input``); returns its size in bytes."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:  # the facts are for the build, not the reader: no output of theirs in the document
        cell["outputs"] = [o for o in cell.get("outputs", []) if FACTS_MIME not in o.get("data", {})]
    body, _ = exporter.from_notebook_node(nb)
    title = next((line.lstrip("# ").strip() for cell in nb.cells if cell.cell_type == "markdown"
                  for line in cell.source.splitlines() if line.startswith("# ")), notebook.stem)
    body = body.replace("<title>Notebook</title>", f"<title>{html.escape(title)}</title>", 1)  # nbconvert's default
    body = body.replace('<html lang="en">', '<html lang="es">', 1)  # the deliverables speak Spanish
    out.write_text(body, encoding="utf-8")
    return out.stat().st_size


_TEX = re.compile(r"\$\$.+?\$\$|\$[^\s$][^$\n]*?\$", re.S)


def tex_formulas(text: str) -> list[str]:
    """TeX formulas (``$...$``, ``$$...$$``) outside code: the HTML export shows them only with MathJax from
    its CDN, so a reader offline sees TeX. The deliverables write formulas in Unicode and HTML instead."""
    return sorted({m.group(0)[:60] for m in _TEX.finditer(_strip_code_spans(_FENCED.sub(" ", text)))})


def problems(nb: dict, forbidden: tuple[str, ...] = ()) -> list[str]:
    """Every reason the notebook's saved outputs are not fit to hand in; empty when they are.
    ``forbidden``: strings that must not appear anywhere in the outputs (the folder it ran in)."""
    found = []
    if "widgets" in nb.get("metadata", {}):
        found.append("widget state in the notebook's metadata")
    for number, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            if "{{" in text:
                found.append(f"cell {number}: an unfilled placeholder {text[text.index('{{'):text.index('{{') + 40]!r}")
            for bad in number_style(text):
                found.append(f"cell {number}: {bad!r} breaks the number convention (1,234.5 and 48%)")
            for formula in tex_formulas(text):
                found.append(f"cell {number}: a TeX formula {formula!r} (unreadable offline: write it in Unicode/HTML)")
        for output in cell.get("outputs", []):
            where = f"cell {number}"
            kind = output["output_type"]
            text = output_text(output)
            if kind == "error":
                found.append(f"{where}: error {text[:200]}")
                continue
            if kind == "stream" and output.get("name") == "stderr":
                found.append(f"{where}: stderr {text[:200]!r}")
            if any(k.startswith("application/vnd.jupyter.widget") for k in output.get("data", {})):
                found.append(f"{where}: a widget (a progress bar?)")
            for path in absolute_paths(text):
                found.append(f"{where}: absolute path {path!r}")
            for bad in number_style(text):
                found.append(f"{where}: {bad!r} breaks the number convention (1,234.5 and 48%)")
            for value in forbidden:
                if value and value in text:
                    found.append(f"{where}: {value!r}")
            english = english_words(text)
            if english:
                line = next((ln for ln in text.splitlines() if set(english_words(ln)) & set(english)), "")
                found.append(f"{where}: English ({', '.join(english)}): {line.strip()[:160]!r}")
    return found


def clean(nb: dict) -> dict:
    """The notebook without what only the machine that ran it needs: widget state, papermill's paths
    and timings, execution timestamps; the cell papermill injects keeps one id (papermill draws a new
    one every run: a rebuild with nothing changed would still change the file)."""
    nb["metadata"].pop("widgets", None)
    papermill = nb["metadata"].get("papermill")
    if papermill:
        nb["metadata"]["papermill"] = {"parameters": papermill.get("parameters", {})}
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
            cell["source"] = injected_record(cell)
    return nb


def injected_record(cell: dict) -> str:
    """Papermill's cell of parameters, as a record that assigns nothing: run by hand (Colab's "Run all") it
    must not override the form above it (``train_new = False`` would stop a student's training). Papermill
    replaces the cell, by its tag, at the next build."""
    lines = [ln for ln in "".join(cell["source"]).splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return "".join(cell["source"])
    return ("# Valores con que scripts/deliverables.py ejecutó este cuaderno para sus salidas guardadas. Están\n"
            "# comentados: al ejecutarlo usted (en Colab, «Ejecutar todas») rigen los del formulario de arriba.\n"
            + "\n".join(f"# {ln}" for ln in lines) + "\n")


def execute(notebook: Path, out: Path, cwd: Path, parameters: dict) -> dict:
    """Run ``notebook`` with papermill (a real kernel) into ``out`` and return it cleaned."""
    unknown = set(parameters) - set(form_parameters(notebook))
    if unknown:
        sys.exit(f"{notebook} has no parameter {', '.join(sorted(unknown))}: see its parameters cell")
    args = [sys.executable, "-m", "papermill", str(notebook), str(out), "--cwd", str(cwd), "--no-progress-bar",
            "--kernel", "python3"]
    for key, value in parameters.items():
        args += ["-p", key, str(value)]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{notebook} failed:\n{result.stderr[-4000:]}")
    nb = clean(json.loads(out.read_text()))
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return nb


def digest(root: Path, paths: tuple[str, ...], extra: bytes = b"") -> str:
    """A short digest of ``paths`` under ``root`` (each file's name and bytes; a folder's files in order,
    caches left out) and ``extra``."""
    h = hashlib.sha256(extra)
    for rel in paths:
        path = root / rel
        files = sorted(f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts) \
            if path.is_dir() else [path] if path.is_file() else []
        for file in files:
            h.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes())
    return h.hexdigest()[:16]


def notebook_inputs(root: Path, name: str) -> str:
    """The digest a notebook is built from: SOURCES, its cells' sources (not papermill's injected cell, not
    the outputs) and the parameters the pipeline gives it."""
    nb = json.loads((root / NOTEBOOKS[name]).read_text())
    cells = [[c["cell_type"], c.get("metadata", {}).get("template") or "".join(c["source"])] for c in nb["cells"]
             if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    return digest(root, SOURCES, json.dumps([cells, PIPELINE_PARAMETERS[name]], sort_keys=True).encode())


def deck_inputs(root: Path) -> str:
    return digest(root, (*SOURCES, *DECK_SOURCES, str(NOTEBOOKS["report"])))


def built_from(root: Path, name: str) -> str | None:
    """The digest a deliverable records it was built from (None: none recorded, or no file)."""
    if name == "deck":
        if not (root / PRESENTATION).is_file():
            return None
        from pptx import Presentation

        return Presentation(str(root / PRESENTATION)).core_properties.identifier or None
    nb = json.loads((root / NOTEBOOKS[name]).read_text())
    return nb["metadata"].get("chromatic_charm", {}).get("built_from")


def take_screenshots(root: Path) -> None:
    """The MLflow UI and the running page, as the report, the training notebook and the deck show them."""
    for command in SCREENSHOTS:
        print(f"taking {command[0]}", flush=True)
        taken = subprocess.run([sys.executable, *command], cwd=root, capture_output=True, text=True)
        if taken.returncode != 0:
            sys.exit(f"{command[0]} failed:\n{(taken.stderr or taken.stdout)[-2000:]}")


def build(root: Path, only: list[str] | None = None, force: bool = False) -> int:
    """Execute the notebooks (``only``: some of eda, training, report), then the deck (unless ``only``
    leaves out "deck"); each only if what it is built from changed since (``force``: all the same)."""
    failed, shot = False, False
    for name, path in NOTEBOOKS.items():
        if only and name not in only:
            continue
        inputs = notebook_inputs(root, name)
        if not force and built_from(root, name) == inputs:
            print(f"{path}: up to date (built from {inputs})", flush=True)
            continue
        if name in ("training", "report") and not shot:  # both show them: taken once, before either runs
            take_screenshots(root)
            shot = True
        print(f"executing {path}", flush=True)
        nb = execute(root / path, root / path, (root / path).parent if name == "report" else root,
                     PIPELINE_PARAMETERS[name])
        nb = fill_templates(nb, collect_facts(nb), str(path))
        nb["metadata"]["chromatic_charm"] = {"built_from": inputs}
        (root / path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        if name == "report":
            size = export_html(root / path, root / REPORT_HTML)
            print(f"wrote {REPORT_HTML} ({size / 1e6:.1f} MB, no code)", flush=True)
            readme = (root / README).read_text()
            (root / README).write_text(README_BLOCK.sub(lambda m: m.group(1) + readme_paragraph(collect_facts(nb)) + m.group(3),
                                                        readme))
        for problem in problems(nb, forbidden=(str(root),)):
            print(f"{path}: {problem}")
            failed = True
    if only and "deck" not in only:
        return 1 if failed else 0
    inputs = deck_inputs(root)
    if not force and built_from(root, "deck") == inputs:
        print(f"{PRESENTATION}: up to date (built from {inputs})")
        return 1 if failed else 0
    from pptx import Presentation

    from presentation import build_presentation  # noqa: E402  (scripts/ is on sys.path)

    slides = build_presentation(root / NOTEBOOKS["report"], root / PRESENTATION)
    deck = Presentation(str(root / PRESENTATION))
    deck.core_properties.identifier = inputs
    deck.save(str(root / PRESENTATION))
    print(f"wrote {PRESENTATION} ({slides} slides)")
    return 1 if failed else 0


def sizes(root: Path) -> list[str]:
    """The deliverables over their size limit: each notebook 2 MB, the report's HTML 5 MB (and it must exist)."""
    found = [f"{path}: {(root / path).stat().st_size / 1e6:.1f} MB, over {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB"
             for path in NOTEBOOKS.values() if (root / path).stat().st_size > MAX_NOTEBOOK_BYTES]
    html = root / REPORT_HTML
    if not html.is_file():
        found.append(f"{REPORT_HTML}: missing (scripts/deliverables.py build --only report)")
    elif html.stat().st_size > MAX_HTML_BYTES:
        found.append(f"{REPORT_HTML}: {html.stat().st_size / 1e6:.1f} MB, over {MAX_HTML_BYTES / 1e6:.0f} MB")
    return found


def stale(root: Path) -> list[str]:
    """The deliverables built from other inputs than today's (``dvc.lock``, the package, their cells): a
    notebook that shows another pipeline run than the one committed."""
    found = []
    for name, path in NOTEBOOKS.items():
        recorded, now = built_from(root, name), notebook_inputs(root, name)
        if recorded != now:
            found.append(f"{path}: built from {recorded}, its inputs are now {now}: "
                         f"run scripts/deliverables.py build --only {name}")
    recorded, now = built_from(root, "deck"), deck_inputs(root)
    if recorded != now:
        found.append(f"{PRESENTATION}: built from {recorded}, its inputs are now {now}: "
                     "run scripts/deliverables.py build --only deck")
    return found


def check(root: Path) -> int:
    failed = False
    for path in NOTEBOOKS.values():
        for problem in problems(json.loads((root / path).read_text()), forbidden=(str(root),)):
            print(f"{path}: {problem}")
            failed = True
    for problem in sizes(root) + readme_problems(root) + stale(root):
        print(problem)
        failed = True
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("build", "check"))
    parser.add_argument("--only", nargs="+", choices=(*NOTEBOOKS, "deck"),
                        help="build: only these (default: the three notebooks, then the deck)")
    parser.add_argument("--force", action="store_true",
                        help="build: execute them even when what they are built from has not changed")
    args = parser.parse_args(argv)
    return build(REPO, args.only, args.force) if args.command == "build" else check(REPO)


if __name__ == "__main__":
    sys.exit(main())
