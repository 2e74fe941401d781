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
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"eda": Path("EDA/EDA.ipynb"), "training": Path("Entrenamiento/training.ipynb"),
             "report": Path("Informe Escrito/RafaelJuarez.ipynb")}
PRESENTATION = Path("Informe Escrito/presentacion.pptx")
# Parameters the pipeline executes each notebook with: the committed run (no progress bars anywhere).
PIPELINE_PARAMETERS = {"eda": {}, "training": {"train_new": False, "progress": False}, "report": {}}

# What every deliverable is built from (files, or folders read whole), and what the deck adds.
SOURCES = ("dvc.lock", "params.yaml", "src/chromatic_charm", "scripts/deliverables.py")
DECK_SOURCES = ("scripts/presentation.py", "scripts/deck", "scripts/presentation_notes.yaml")

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


def problems(nb: dict, forbidden: tuple[str, ...] = ()) -> list[str]:
    """Every reason the notebook's saved outputs are not fit to hand in; empty when they are.
    ``forbidden``: strings that must not appear anywhere in the outputs (the folder it ran in)."""
    found = []
    if "widgets" in nb.get("metadata", {}):
        found.append("widget state in the notebook's metadata")
    for number, cell in enumerate(nb["cells"]):
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
    return nb


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
    cells = [[c["cell_type"], "".join(c["source"])] for c in nb["cells"]
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


def build(root: Path, only: list[str] | None = None, force: bool = False) -> int:
    """Execute the notebooks (``only``: some of eda, training, report), then the deck (unless ``only``
    leaves out "deck"); each only if what it is built from changed since (``force``: all the same)."""
    failed = False
    for name, path in NOTEBOOKS.items():
        if only and name not in only:
            continue
        inputs = notebook_inputs(root, name)
        if not force and built_from(root, name) == inputs:
            print(f"{path}: up to date (built from {inputs})", flush=True)
            continue
        print(f"executing {path}", flush=True)
        nb = execute(root / path, root / path, (root / path).parent if name == "report" else root,
                     PIPELINE_PARAMETERS[name])
        nb["metadata"]["chromatic_charm"] = {"built_from": inputs}
        (root / path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
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


def check(root: Path) -> int:
    failed = False
    for path in NOTEBOOKS.values():
        for problem in problems(json.loads((root / path).read_text()), forbidden=(str(root),)):
            print(f"{path}: {problem}")
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
