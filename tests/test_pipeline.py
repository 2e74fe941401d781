"""The chain on tiny data, on every kind of tracking store our users have: train, evaluate, sweep
(train + evaluate), select, export, and the champion served by a real gunicorn; the exported model
colourising an image through ONNX Runtime."""

import io
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import requests
from mlflow.tracking import MlflowClient

from chromatic_charm import color
from chromatic_charm.evaluation import evaluate

from conftest import REPO, start_gunicorn
from test_metrics import SmallFeatures


def cli(*args, env):
    proc = subprocess.run([sys.executable, "-m", "chromatic_charm.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env)
    return proc


@pytest.fixture(params=["local-sqlite", "mlflow-3", "mlflow-2.7.1", "mlflow-2.7.1-no-registry"])
def tracking_uri(request):
    """Where our users' runs go: the embedded store, an MLflow 3 server, MLflow 2.7.1 (DagsHub's
    version) and MLflow 2.7.1 without a model registry (as DagsHub answers: 404). All real servers."""
    fixture = {"local-sqlite": None, "mlflow-3": "mlflow_server", "mlflow-2.7.1": "mlflow27_server",
               "mlflow-2.7.1-no-registry": "dagshub_like_server"}[request.param]
    return request.param, (request.getfixturevalue(fixture) if fixture else None)


@pytest.mark.slow
def test_train_sweep_evaluate_select_export_serve(clean_data, tracking_uri, isolated_project, tmp_path):
    kind, uri = tracking_uri
    registry = kind != "mlflow-2.7.1-no-registry"
    env = {**os.environ, "CHROMATIC_CHARM_ROOT": str(isolated_project),
           "TORCH_HOME": str(tmp_path / "no-torch-cache")}  # no Inception weights: FID must say so
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    experiment = f"pipeline-{kind}"
    train_args = ["--data", str(clean_data), "--model-size", "tiny", "--image-size", "32", "--batch-size", "8",
                  "--epochs", "1", "--device", "cpu", "--workers", "0", "--experiment", experiment, "--no-progress"]

    # train: ends FINISHED with its generator in the run, and prints a URI the other commands take
    trained = cli("train", *train_args, "--run-name", "single", env=env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    model_uri = re.search(r"^model: (\S+)$", trained.stdout, re.M).group(1)
    run_id = re.search(r"^done: run ([0-9a-f]{32})", trained.stdout, re.M).group(1)
    assert model_uri == f"runs:/{run_id}/generator"
    evaluated = cli("evaluate", model_uri, "--data", str(clean_data), "--device", "cpu", "--no-progress", env=env)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "| test_ciede2000 |" in evaluated.stdout

    swept = cli("sweep", "--grid", "1e-4:3e-4,3e-4:1e-4", *train_args, env=env)
    assert swept.returncode == 0, swept.stderr[-3000:]
    assert swept.stdout.count("FID not computed") == 2

    client = MlflowClient(uri or f"sqlite:///{isolated_project / 'mlflow.db'}")
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id])
    assert {r.info.status for r in runs} == {"FINISHED"}
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == 2
    assert sorted((r.data.params["lr_g"], r.data.params["lr_d"]) for r in children) == [("0.0001", "0.0003"),
                                                                                        ("0.0003", "0.0001")]
    for run in children:
        metrics = run.data.metrics
        assert "test_fid" not in metrics  # never a stand-in number under FID's name
        assert run.data.tags["test_fid_status"].startswith("not computed: FID needs the Inception weights")
        assert 0 <= metrics["test_ciede2000"] < 100 and 0 <= metrics["test_ssim"] <= 1
        assert metrics["test_colourfulness_real"] > 0
        if kind.startswith("mlflow-2.7.1"):  # no logged-models API: MLmodel + weights as run artifacts
            # (asked over REST: MLflow 3's list_artifacts itself looks for a logged model first)
            listed = requests.get(f"{uri}/api/2.0/mlflow/artifacts/list",
                                  params={"run_id": run.info.run_id, "path": "generator"}, timeout=30).json()
            assert "generator/MLmodel" in [f["path"] for f in listed["files"]]
        else:  # an MLflow 3 logged model of the run
            logged = client.search_logged_models([found.experiment_id],
                                                 filter_string=f"source_run_id = '{run.info.run_id}'")
            assert [m.name for m in logged] == ["generator"]
    if not kind.startswith("mlflow-2.7.1"):  # what MLflow 3 itself prints for the model: accepted too
        logged_uri = f"models:/{logged[0].model_id}"
        by_model_id = cli("evaluate", logged_uri, "--data", str(clean_data), "--device", "cpu", "--no-log",
                          "--no-progress", env=env)
        assert by_model_id.returncode == 0, by_model_id.stderr[-2000:]
        assert by_model_id.stdout.count("| test_ciede2000 |") == 1

    by_fid = cli("select", "--experiment", experiment, env=env)
    assert by_fid.returncode == 2 and f"no finished run in '{experiment}' has the metric 'test_fid'" in by_fid.stderr

    selected = cli("select", "--experiment", experiment, "--metric", "test_ciede2000", env=env)
    assert selected.returncode == 0, selected.stderr[-2000:]
    best = min([*children, client.get_run(run_id)], key=lambda r: r.data.metrics["test_ciede2000"])
    choice = json.loads((isolated_project / "metrics" / "champion.json").read_text())
    assert choice["run_id"] == best.info.run_id and choice["registry"] is registry
    assert choice["champion_uri"] == "models:/chromatic-charm-generator@champion"
    if registry:
        champion = client.get_model_version_by_alias("chromatic-charm-generator", "champion")
        assert champion.run_id == best.info.run_id
        assert "no model registry" not in selected.stdout
    else:
        notes = [line for line in selected.stdout.splitlines() if "no model registry" in line]
        assert len(notes) == 1 and best.info.run_id in notes[0]  # said in one line
        assert client.get_run(best.info.run_id).data.tags["chromatic_charm.champion"] == "chromatic-charm-generator"
        assert client.get_experiment(found.experiment_id).tags[
            "chromatic_charm.champion.chromatic-charm-generator"] == best.info.run_id
    assert "champion" in selected.stdout and "test_ciede2000" in selected.stdout
    if not registry:  # a new choice moves the tag: one champion at a time
        worst = cli("select", "--experiment", experiment, "--metric", "test_ciede2000", "--direction", "max",
                    "--out", str(tmp_path / "worst.json"), env=env)
        assert worst.returncode == 0, worst.stderr[-2000:]
        other = json.loads((tmp_path / "worst.json").read_text())["run_id"]
        tagged = client.search_runs([found.experiment_id], "tags.`chromatic_charm.champion` = 'chromatic-charm-generator'")
        assert other != best.info.run_id and [r.info.run_id for r in tagged] == [other]
        again = cli("select", "--experiment", experiment, "--metric", "test_ciede2000", env=env)
        assert again.returncode == 0, again.stderr[-2000:]

    onnx_path = tmp_path / "model" / "generator.onnx"
    exported = cli("export", "-o", str(onnx_path), "--data", str(clean_data), env=env)  # the champion
    assert exported.returncode == 0, exported.stderr[-2000:]
    meta = json.loads(onnx_path.with_suffix(".json").read_text())
    assert meta["run_id"] == best.info.run_id and meta["image_size"] == 32
    assert set(meta["parity_max_abs_diff"]) == {"random", "real"}
    assert max(meta["parity_max_abs_diff"].values()) < 1e-4
    assert meta["training_data"]["data_version"] == "synthetic-0"
    assert meta["metrics"]["test_ciede2000"] == pytest.approx(best.data.metrics["test_ciede2000"])
    assert meta["artifact"] == f"runs:/{best.info.run_id}/onnx/generator.onnx"

    # evaluate takes the champion by name, registry or not
    by_name = cli("evaluate", "models:/chromatic-charm-generator@champion", "--data", str(clean_data), "--device",
                  "cpu", "--no-log", "--no-progress", env=env)
    assert by_name.returncode == 0, by_name.stderr[-2000:]
    assert f"| test_ciede2000 | {best.data.metrics['test_ciede2000']:.4f} |" in by_name.stdout

    # served by a real gunicorn straight from the tracking server: the champion, and a run by runs:/
    for model in ("models:/chromatic-charm-generator@champion", f"runs:/{best.info.run_id}"):
        url, proc = start_gunicorn(model, env)
        try:
            assert requests.get(f"{url}/model", timeout=10).json()["run_id"] == best.info.run_id
            photo = (REPO / "samples" / "scikit-image__coffee.jpg").read_bytes()
            reply = requests.post(f"{url}/colorize", files={"image": ("coffee.jpg", photo)}, timeout=60)
            assert reply.status_code == 200 and reply.headers["Content-Type"] == "image/png"
            from PIL import Image

            with Image.open(REPO / "samples" / "scikit-image__coffee.jpg") as original:
                assert Image.open(io.BytesIO(reply.content)).size == original.size
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    # colourise a real photo through ONNX Runtime, batch of 2 (dynamic batch)
    import onnxruntime as ort
    from PIL import Image

    photo = np.asarray(Image.open(REPO / "samples" / "scikit-image__coffee.jpg").convert("RGB").resize((32, 32)),
                       dtype=np.float32) / 255
    lightness, _ = color.rgb_to_model_input(photo)
    batch = np.repeat(lightness.transpose(2, 0, 1)[None], 2, axis=0).astype(np.float32)
    ab = ort.InferenceSession(str(onnx_path)).run(["ab"], {"L": batch})[0]
    assert ab.shape == (2, 2, 32, 32) and np.abs(ab).max() <= 1
    rgb = color.model_output_to_rgb(batch[0].transpose(1, 2, 0), ab[0].transpose(1, 2, 0))
    assert rgb.shape == (32, 32, 3) and 0 <= rgb.min() and rgb.max() <= 1


def test_evaluate_with_a_feature_network_records_baselines(tiny_config, clean_data):
    from dataclasses import replace

    from chromatic_charm.training.loop import train

    result = train(replace(tiny_config, max_steps=2), progress=False)
    out = evaluate(str(result.checkpoint), data_dir=clean_data, fid_feature=SmallFeatures(), progress=False)
    metrics = out["metrics"]
    assert metrics["test_fid_test_features_samples"] == 8 and "test_fid" not in metrics
    assert metrics["test_fid_test_features"] >= 0 and metrics["test_fid_test_features_baseline_gray"] >= 0
    assert metrics["test_fid_test_features_baseline_real_halves"] >= 0
    assert out["fid_status"].startswith("computed on 8 samples") and "biased" in out["fid_status"]
    assert out["report"].read_text().startswith("Evaluation on the test split (8 images)")
    run = MlflowClient().get_run(result.run_id)
    assert run.data.metrics["test_ciede2000"] == pytest.approx(metrics["test_ciede2000"])
