"""The check CI applies to the notebooks' saved outputs (scripts/deliverables.py), on outputs made to
fail it: each kind of problem is caught, and Spanish output with relative paths passes."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import deliverables  # noqa: E402


def _nb(*outputs, metadata=None) -> dict:
    return {"metadata": metadata or {}, "cells": [{"cell_type": "code", "source": "x", "outputs": list(outputs)}]}


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def _display(markdown=None, plain=None, png=False):
    data = {}
    if markdown is not None:
        data["text/markdown"] = markdown
    if plain is not None:
        data["text/plain"] = plain
    if png:
        data["image/png"] = "iVBORw0KGgo="
    return {"output_type": "display_data", "data": data, "metadata": {}}


def test_spanish_output_with_relative_paths_and_urls_passes():
    nb = _nb(_stream("Entorno: Colab\n"),
             _display("**Datos:** `../shared/data/photos`, modelo `models:/chromatic-charm@champion`, "
                      "https://dagshub.com/usuario/repo.mlflow, a\\*b\\* del 54%."),
             _display(plain="<Figure size 640x480 with 1 Axes>", png=True),
             _display("```dockerfile\nWORKDIR /app\nCOPY src /app/src\n```"))
    assert deliverables.problems(nb, forbidden=("/work/main",)) == []


def test_each_kind_of_problem_is_caught():
    cases = {
        "error": {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []},
        "stderr": _stream("2026/11/26 INFO mlflow: creando", name="stderr"),
        "absolute path": _stream("datos en /home/ana/proyecto/Data\n"),
        "sqlite": _display("almacén `sqlite:////content/x/mlflow.db`"),
        "English": _stream("uploading the generator to MLflow...\n"),
        "widget": {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {}}, "metadata": {}},
    }
    for name, output in cases.items():
        found = deliverables.problems(_nb(output))
        assert found, name
    assert deliverables.problems(_nb(_stream("corrida en /tmp/x1\n")), forbidden=("/tmp/x1",))
    assert deliverables.problems(_nb(metadata={"widgets": {}})) == ["widget state in the notebook's metadata"]


def test_english_is_told_from_spanish_and_code_spans_are_skipped():
    assert deliverables.english_words("The model is not found") == ["found", "is", "not", "the"]
    assert deliverables.english_words("El modelo no está: `is not the`") == []
    assert deliverables.english_words("Datos de prueba, con colorido y FID") == []
    # the letters of a digest or an identifier are no word (a dvc.lock digest once held "be")
    assert deliverables.english_words("**Corrida del pipeline:** dvc.lock d7e8be87a8b3, run_is_ok") == []


def test_clean_drops_what_only_the_machine_that_ran_it_needs():
    nb = _nb(_stream("hola\n"), metadata={"widgets": {"state": {}}, "papermill": {
        "input_path": "/work/main/EDA/EDA.ipynb", "parameters": {"max_images": 50}, "start_time": "t"}})
    nb["cells"][0]["metadata"] = {"papermill": {"duration": 1.0}, "execution": {"iopub.status.busy": "t"}, "tags": ["a"]}
    cleaned = deliverables.clean(nb)
    assert cleaned["metadata"] == {"papermill": {"parameters": {"max_images": 50}}}
    assert cleaned["cells"][0]["metadata"] == {"tags": ["a"]}


def _facts_output(facts: dict) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {deliverables.FACTS_MIME: facts}}


def test_templates_are_filled_from_the_facts_the_notebook_published_and_an_unknown_name_stops_the_build():
    nb = {"cells": [
        {"cell_type": "code", "source": [], "metadata": {}, "outputs": [_facts_output({"champion.fid": "72.3"})]},
        {"cell_type": "code", "source": [], "metadata": {}, "outputs": [_facts_output({"gray.fid": "89.1"})]},
        {"cell_type": "markdown", "source": ["viejo"], "metadata": {"template": "FID {{champion.fid}} (gris {{ gray.fid }})."}},
        {"cell_type": "markdown", "source": ["sin plantilla"], "metadata": {}}]}
    facts = deliverables.collect_facts(nb)
    assert facts == {"champion.fid": "72.3", "gray.fid": "89.1"}
    filled = deliverables.fill_templates(nb, facts)
    assert "".join(filled["cells"][2]["source"]) == "FID 72.3 (gris 89.1)."
    assert filled["cells"][3]["source"] == ["sin plantilla"]
    assert deliverables.problems(filled) == []
    nb["cells"][2]["metadata"]["template"] = "KID {{champion.kid}}"
    with pytest.raises(SystemExit, match="no fact named champion.kid"):
        deliverables.fill_templates(nb, facts, "report")
    nb["cells"][3]["source"] = ["queda {{champion.kid}} y arranca en 1,5 s"]
    found = deliverables.problems(nb)
    assert any("unfilled placeholder" in p for p in found) and any("'1,5'" in p for p in found)


def test_the_report_exports_to_html_without_its_code(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Informe\n\nTexto del informe."),
                nbformat.v4.new_code_cell("secreto_de_codigo = 1\nprint('salida visible')",
                                          outputs=[nbformat.v4.new_output("stream", name="stdout", text="salida visible\n")])]
    path = tmp_path / "informe.ipynb"
    nbformat.write(nb, str(path))
    size = deliverables.export_html(path, tmp_path / "informe.html")
    html = (tmp_path / "informe.html").read_text()
    assert size == len(html.encode()) and "Texto del informe" in html and "salida visible" in html
    assert "secreto_de_codigo" not in html


def test_a_tex_formula_is_a_problem_because_the_html_needs_a_cdn_to_show_it():
    """The report's HTML is read offline too: its formulas are Unicode and HTML, never TeX (MathJax from a CDN)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("La pérdida $\\lambda \\cdot L_1$ y\n\n$$G^* = \\arg\\min_G$$"),
                nbformat.v4.new_markdown_cell("En la VM: `curl $VM/ready`\n\n```bash\nexport A=$HOME\ncurl $VM/x\n```"),
                nbformat.v4.new_markdown_cell("FID = ‖μ<sub>r</sub> − μ<sub>g</sub>‖<sup>2</sup>, λ = 300")]
    found = [p for p in deliverables.problems(nb) if "TeX" in p]
    assert len(found) == 2 and all(p.startswith("cell 0:") for p in found)
    assert "unreadable offline" in found[0]


def test_the_saved_parameters_cell_assigns_nothing_so_colab_keeps_the_form():
    """Papermill's cell of parameters stays as a record of what the saved outputs ran with, commented out: run by
    hand (Colab's "Run all"), `train_new = False` must not override the form's `train_new = True`."""
    import ast

    import nbformat

    nb = nbformat.v4.new_notebook()
    form = nbformat.v4.new_code_cell("# parameters\ntrain_new = True")
    injected = nbformat.v4.new_code_cell("# Parameters\ntrain_new = False\nprogress = False\n")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [form, injected]
    cleaned = deliverables.clean(json.loads(nbformat.writes(nb)))
    record = "".join(cleaned["cells"][1]["source"])
    assert ast.parse(record).body == [] and "# train_new = False" in record and "formulario" in record
    assert cleaned["cells"][1]["id"] == "injected-parameters"
    assert deliverables.clean(cleaned)["cells"][1]["source"] == cleaned["cells"][1]["source"]  # a rebuild changes nothing


def test_the_committed_training_notebook_does_not_override_its_form():
    import ast

    nb = json.loads((Path(__file__).resolve().parents[1] / "Entrenamiento" / "training.ipynb").read_text())
    saved = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(saved) == 1, "the pipeline's build leaves one record of the parameters it ran with"
    assert ast.parse("".join(saved[0]["source"])).body == [], "the saved parameters cell assigns values"
