"""Models in MLflow: log the generator, name the champion, and turn any model reference into a run.

Every reference the project's commands accept, on any server:
- ``runs:/<run id>`` or ``runs:/<run id>/<path>`` (``<path>`` ignored: a run has one generator), or a
  bare run id;
- ``models:/m-<id>``: an MLflow 3 logged model (what MLflow 3 itself prints);
- ``models:/<name>@<alias>`` and ``models:/<name>/<version>``: the model registry. Where the server
  has none (DagsHub), ``models:/<name>@champion`` is the run that ``select`` tagged champion.

Logging: on MLflow 3 servers the generator becomes a logged model (``log_model``); older servers
(DagsHub's 2.7) have no logged-models API, so the same MLmodel folder goes up as plain run
artifacts under ``generator/``. Either way ``runs:/<run id>/generator`` loads it, and that is the
URI training prints.
"""

from __future__ import annotations

import inspect
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import CHAMPION_ALIAS
from ..errors import UserError
from .target import features, first_line, resolve_target, use_target

GENERATOR_PATH = "generator"  # the generator's folder in a run
ONNX_PATH = "onnx"  # where export logs the ONNX model and its metadata in a run
CHAMPION_TAG = "chromatic_charm.champion"  # on the run: the model name it is champion of
CHAMPION_SINCE_TAG = "chromatic_charm.champion_since"
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: exactly one of run_id, model_id, (name, alias), (name, version)."""

    uri: str
    run_id: str | None = None
    model_id: str | None = None
    name: str | None = None
    alias: str | None = None
    version: str | None = None


def parse(uri: str) -> ModelRef:
    """Parse a model reference (see the module docstring); a UserError for anything else."""
    text = uri.strip()
    if RUN_ID.match(text):
        return ModelRef(text, run_id=text)
    if text.startswith("runs:/"):
        run_id = text.removeprefix("runs:/").strip("/").split("/")[0]
        if RUN_ID.match(run_id):
            return ModelRef(text, run_id=run_id)
    elif text.startswith("models:/"):
        rest = text.removeprefix("models:/").strip("/")
        if re.fullmatch(r"m-[0-9a-f]{32}", rest):
            return ModelRef(text, model_id=rest)
        name, at, alias = rest.partition("@")
        if at and name and alias and "/" not in alias:
            return ModelRef(text, name=name, alias=alias)
        name, slash, version = rest.rpartition("/")
        if slash and name and version.isdigit():
            return ModelRef(text, name=name, version=version)
    raise UserError(f"'{uri}' is not a model reference: use a run id, runs:/<run id>, models:/m-<id>, "
                    f"models:/<name>@<alias> or models:/<name>/<version>")


def run_of(uri: str) -> str:
    """The MLflow run id behind a model reference, on the current tracking server."""
    from mlflow.tracking import MlflowClient

    ref = parse(uri)
    target = use_target()
    if ref.run_id:
        return ref.run_id
    client = MlflowClient()
    try:
        if ref.model_id:
            if not features(target).logged_models:
                raise UserError(f"the MLflow server at {target.display} has no logged models (an MLflow 2 "
                                f"server), so {uri} cannot exist there; use runs:/<run id>")
            return client.get_logged_model(ref.model_id).source_run_id
        if not features(target).registry:
            if ref.alias == CHAMPION_ALIAS:
                return find_champion(ref.name)
            raise UserError(f"the MLflow server at {target.display} has no model registry, so {uri} cannot be "
                            f"resolved; use models:/{ref.name}@{CHAMPION_ALIAS} (the run `select` tagged) "
                            "or runs:/<run id>")
        version = (client.get_model_version_by_alias(ref.name, ref.alias) if ref.alias
                   else client.get_model_version(ref.name, ref.version))
        return version.run_id
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"cannot resolve {uri} at {target.display} ({first_line(exc)}); run `chromatic-charm "
                        "select` first, or pass a run id or a checkpoint") from None


# --- logging the generator -------------------------------------------------------------------------

def log_generator(run_id: str, generator, example, output, pip_requirements: list[str]) -> str:
    """Log a torch generator (CPU, eval mode) to the run; returns ``runs:/<run id>/generator``.

    ``example``/``output``: NumPy arrays of one forward pass, for the model's signature."""
    import mlflow
    import mlflow.pytorch
    from mlflow.models import infer_signature

    options = {"signature": infer_signature(example, output), "pip_requirements": pip_requirements}
    # A pickled module keeps the dynamic batch and image size; pt2 (the default of later MLflow 3
    # releases) would freeze the example's shape. Early 3.x clients (3.1) only pickle, without the argument.
    if "serialization_format" in inspect.signature(mlflow.pytorch.save_model).parameters:
        options["serialization_format"] = "pickle"
    quiet = logging.getLogger("mlflow.pytorch")  # its pickle warning: a deliberate choice, see above
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        if features().logged_models:
            with mlflow.start_run(run_id=run_id):
                mlflow.pytorch.log_model(generator, name=GENERATOR_PATH, **options)
        else:  # an MLflow 2 server (DagsHub): the same MLmodel folder, as plain run artifacts
            from mlflow.tracking import MlflowClient

            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) / GENERATOR_PATH
                mlflow.pytorch.save_model(generator, str(folder), **options)
                MlflowClient().log_artifacts(run_id, str(folder), GENERATOR_PATH)
    finally:
        quiet.setLevel(level)
    return f"runs:/{run_id}/{GENERATOR_PATH}"


def load_generator(run_id: str, device="cpu"):
    """The generator logged by ``log_generator`` (either way)."""
    import mlflow.pytorch

    return mlflow.pytorch.load_model(f"runs:/{run_id}/{GENERATOR_PATH}", map_location=device)


# --- the champion ----------------------------------------------------------------------------------

def make_champion(run_id: str, experiment_id: str, model_name: str, selected_by: str) -> dict:
    """Register the run's generator and point the alias at it; without a registry, tag the run and the
    experiment instead. Returns {"registry": bool, "version": str | None, "uri": ..., "note": ...}."""
    import mlflow
    from mlflow.tracking import MlflowClient

    target = use_target()
    client = MlflowClient()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # UTC: compared as text across machines
    uri = f"models:/{model_name}@{CHAMPION_ALIAS}"
    registry = features(target).registry
    try:
        if registry:
            info = mlflow.register_model(_registrable_uri(client, run_id, experiment_id), model_name)
            client.set_registered_model_alias(model_name, CHAMPION_ALIAS, info.version)
            client.set_model_version_tag(model_name, info.version, "selected_by", selected_by)
            return {"registry": True, "version": info.version, "uri": uri, "note": None}
        # No registry: the tag on the run is what `models:/<name>@champion` finds; the experiment's
        # tag shows it in the UI. The new champion is tagged first, then earlier ones lose their tag.
        client.set_tag(run_id, CHAMPION_SINCE_TAG, since)
        client.set_tag(run_id, "selected_by", selected_by)
        client.set_tag(run_id, CHAMPION_TAG, model_name)
        client.set_experiment_tag(experiment_id, f"{CHAMPION_TAG}.{model_name}", run_id)
        for run in client.search_runs([experiment_id], filter_string=f"tags.`{CHAMPION_TAG}` = '{model_name}'",
                                      max_results=1000):
            if run.info.run_id != run_id:
                client.delete_tag(run.info.run_id, CHAMPION_TAG)
    except Exception as exc:
        raise UserError(f"could not make run {run_id} the champion at {target.display} ({first_line(exc)}); "
                        "run `chromatic-charm select` again when the server answers") from None
    note = (f"no model registry at {target.display}: the champion is run {run_id}, tagged "
            f"{CHAMPION_TAG}={model_name} (run and experiment); {uri} and runs:/{run_id} find it")
    return {"registry": False, "version": None, "uri": uri, "note": note}


def find_champion(model_name: str) -> str:
    """The run tagged champion of ``model_name`` (the newest, if several experiments have one)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments(max_results=1000)]
    runs = client.search_runs(experiments, filter_string=f"tags.`{CHAMPION_TAG}` = '{model_name}'",
                              max_results=100) if experiments else []
    if not runs:
        raise UserError(f"no run is tagged champion of '{model_name}' at {resolve_target().display}; "
                        "run `chromatic-charm select` first, or pass a run id")
    return max(runs, key=lambda r: r.data.tags.get(CHAMPION_SINCE_TAG, "")).info.run_id


def _registrable_uri(client, run_id: str, experiment_id: str) -> str:
    """MLflow 3 registers a run's logged model (models:/m-...); MLflow 2 stores register runs:/."""
    try:
        found = client.search_logged_models([experiment_id], filter_string=(
            f"source_run_id = '{run_id}' AND name = '{GENERATOR_PATH}'"))
    except Exception:  # no logged-models API (an MLflow 2 server or client)
        found = []
    return f"models:/{found[0].model_id}" if found else f"runs:/{run_id}/{GENERATOR_PATH}"


# --- measurements of a finished run (evaluate, the quality benchmark) ------------------------------

def log_measurements(run_id: str, metrics: dict[str, float], tags: dict[str, str] | None = None,
                     files=(), artifact_path: str | None = None) -> None:
    """Add metrics (at step 0), tags and files to a run, finished or not; raises what MLflow raises. A metric
    measured again (``dvc repro`` re-evaluates a run when the code changes) is logged with the time it was
    measured: MLflow shows the latest of a step's values by timestamp, and with equal timestamps the
    largest, which for an error or a distance would be the worst ever logged, not the current one."""
    import time

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    use_target()
    client = MlflowClient()
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])
    for key, value in (tags or {}).items():
        client.set_tag(run_id, key, value)
    for path in files:
        client.log_artifact(run_id, str(path), artifact_path)


# --- the ONNX export -------------------------------------------------------------------------------

def log_onnx(run_id: str, files) -> str:
    """Upload the exported ONNX model and its metadata into the run; returns the ONNX file's URI."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    for path in files:
        client.log_artifact(run_id, str(path), ONNX_PATH)
    return f"runs:/{run_id}/{ONNX_PATH}/{Path(files[0]).name}"


def fetch_onnx(uri: str) -> Path:
    """Download the ONNX export of the run behind ``uri`` (needs only mlflow-skinny, no torch)."""
    import mlflow

    run_id = run_of(uri)
    try:
        folder = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=ONNX_PATH)
    except Exception as exc:
        raise UserError(f"cannot fetch the ONNX export of run {run_id} ({first_line(exc)}); run "
                        f"`chromatic-charm export {uri}` first, or set CHROMATIC_CHARM_MODEL to an .onnx file") from None
    models = sorted(Path(folder).glob("*.onnx"))
    if not models:
        raise UserError(f"run {run_id} has no ONNX export; run `chromatic-charm export {uri}` first")
    return models[0]
