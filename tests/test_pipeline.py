"""The chain on tiny data against a real MLflow server: sweep (train + evaluate), select, export,
and the exported model colourising an image through ONNX Runtime."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from chromatic_charm import color
from chromatic_charm.evaluation import evaluate

from conftest import REPO
from test_metrics import SmallFeatures


def cli(*args, env):
    proc = subprocess.run([sys.executable, "-m", "chromatic_charm.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env)
    return proc


@pytest.mark.slow
def test_sweep_select_export_and_onnx_colourises(clean_data, mlflow_server, isolated_project, tmp_path):
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "CHROMATIC_CHARM_ROOT": str(isolated_project),
           "TORCH_HOME": str(tmp_path / "no-torch-cache")}  # no Inception weights: FID must say so
    train_args = ["--data", str(clean_data), "--model-size", "tiny", "--image-size", "32", "--batch-size", "8",
                  "--epochs", "1", "--device", "cpu", "--workers", "0", "--experiment", "pipeline", "--no-progress"]
    swept = cli("sweep", "--grid", "1e-4:3e-4,3e-4:1e-4", *train_args, env=env)
    assert swept.returncode == 0, swept.stderr[-3000:]
    assert swept.stdout.count("FID not computed") == 2

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("pipeline")
    runs = client.search_runs([experiment.experiment_id])
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

    by_fid = cli("select", "--experiment", "pipeline", env=env)
    assert by_fid.returncode == 2 and "no finished run in 'pipeline' has the metric 'test_fid'" in by_fid.stderr

    selected = cli("select", "--experiment", "pipeline", "--metric", "test_ciede2000", env=env)
    assert selected.returncode == 0, selected.stderr[-2000:]
    best = min(children, key=lambda r: r.data.metrics["test_ciede2000"])
    champion = client.get_model_version_by_alias("chromatic-charm-generator", "champion")
    assert champion.run_id == best.info.run_id
    assert "champion" in selected.stdout and "test_ciede2000" in selected.stdout

    onnx_path = tmp_path / "model" / "generator.onnx"
    exported = cli("export", "-o", str(onnx_path), "--data", str(clean_data), env=env)
    assert exported.returncode == 0, exported.stderr[-2000:]
    meta = json.loads(onnx_path.with_suffix(".json").read_text())
    assert meta["run_id"] == best.info.run_id and meta["image_size"] == 32
    assert set(meta["parity_max_abs_diff"]) == {"random", "real"}
    assert max(meta["parity_max_abs_diff"].values()) < 1e-4
    assert meta["training_data"]["data_version"] == "synthetic-0"
    assert meta["metrics"]["test_ciede2000"] == pytest.approx(best.data.metrics["test_ciede2000"])

    # the champion is served straight from the registry: CHROMATIC_CHARM_MODEL=models:/...@champion
    assert meta["artifact"] == f"runs:/{best.info.run_id}/onnx/generator.onnx"
    from chromatic_charm.serving import create_app

    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setenv("CHROMATIC_CHARM_MODEL", "models:/chromatic-charm-generator@champion")
        served = create_app().test_client().get("/model").get_json()
    assert served["run_id"] == best.info.run_id and served["image_size"] == 32

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
