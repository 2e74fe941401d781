"""MLflow tracking against a real server on 127.0.0.1, and where runs go without one."""

import base64
import os
import subprocess
import sys
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient

from chromatic_charm.errors import UserError
from chromatic_charm import tracking
from chromatic_charm.training.loop import train

from conftest import free_port


@pytest.mark.slow
def test_training_run_is_fully_logged_to_a_real_mlflow_server(tiny_config, mlflow_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    result = train(replace(tiny_config, epochs=2, lr_g=3e-4, lr_d=1e-4), progress=False)
    client = MlflowClient(mlflow_server)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    for name in ("lr_g", "lr_d", "lambda_l1", "beta1", "beta2", "epochs", "batch_size", "image_size",
                 "model_size", "data_version", "git_commit"):
        assert name in params, name
    assert float(params["lr_g"]) == 3e-4 and float(params["lr_d"]) == 1e-4
    assert params["data_version"] == "synthetic-0" and params["G_ngf"] == "8"
    assert run.data.tags["mlflow.source.git.commit"] == params["git_commit"]
    # every step of the 2 x 6 steps has its four losses; val L1 once per epoch
    for name in ("loss_G_GAN", "loss_G_L1", "loss_D_real", "loss_D_fake"):
        history = client.get_metric_history(result.run_id, name)
        assert sorted(m.step for m in history) == list(range(1, 13)), name
    val = client.get_metric_history(result.run_id, "val_l1")
    assert [m.step for m in val] == [6, 12] and all(0 < m.value < 2 for m in val)
    samples = [a.path for a in client.list_artifacts(result.run_id, "samples")]
    assert samples == ["samples/epoch_001_step_000006.png", "samples/epoch_002_step_000012.png"]
    image = mlflow.artifacts.load_image(f"runs:/{result.run_id}/{samples[-1]}")
    assert image.size == (3 * 32, 4 * 32)  # gray | colourised | truth, for 4 val images
    mlflow.set_tracking_uri(mlflow_server)
    generator = mlflow.pytorch.load_model(f"runs:/{result.run_id}/generator")
    assert generator(torch.zeros(2, 1, 64, 64)).shape == (2, 2, 64, 64)  # dynamic batch and size


def test_without_configuration_runs_go_to_the_local_store(isolated_project):
    target = tracking.resolve_target()
    assert target.kind == "local" and target.uri == f"sqlite:///{isolated_project / 'mlflow.db'}"


def test_tracking_uri_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://user:pw@example.test:5000")
    monkeypatch.setenv("DAGSHUB_REPO", "team/proj")
    target = tracking.resolve_target()
    assert target.kind == "env" and target.display == "http://example.test:5000"


@pytest.mark.parametrize("user_variable", ["DAGSHUB_USERNAME", "DAGSHUB_USER"])
def test_dagshub_target_and_credentials(monkeypatch, user_variable):
    # DagsHub cannot be reached here: this checks the address and the credentials handed to MLflow.
    monkeypatch.setenv("DAGSHUB_REPO", "team/proj")
    monkeypatch.setenv("DAGSHUB_TOKEN", "s3cr3t-token")
    monkeypatch.setenv(user_variable, "alice")  # a collaborator of the organisation 'team'
    target = tracking.resolve_target()
    assert (target.kind, target.uri) == ("dagshub", "https://dagshub.com/team/proj.mlflow")
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "alice"  # the token's user, not the repo's owner
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "s3cr3t-token"
    assert "s3cr3t" not in target.display


def test_dagshub_token_under_the_client_library_name(monkeypatch):
    monkeypatch.setenv("DAGSHUB_REPO", "team/proj")
    monkeypatch.setenv("DAGSHUB_USER_TOKEN", "tok")  # what DagsHub's own client reads
    monkeypatch.setenv("DAGSHUB_USERNAME", "bob")
    assert tracking.resolve_target().kind == "dagshub"
    assert (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]) == ("bob", "tok")


@pytest.mark.parametrize("env,message", [
    ({"DAGSHUB_REPO": "team/proj"}, "no token"),
    ({"DAGSHUB_REPO": "just-a-name", "DAGSHUB_TOKEN": "t"}, "owner/name"),
    # no user name: never silently the owner, whose name a collaborator's token would not match
    ({"DAGSHUB_REPO": "team/proj", "DAGSHUB_TOKEN": "t"}, "set DAGSHUB_USERNAME to the user the token belongs to"),
])
def test_dagshub_misconfiguration_is_explained(monkeypatch, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(UserError, match=message):
        tracking.resolve_target()
    assert os.environ.get("MLFLOW_TRACKING_USERNAME") != "team"


class _FakeDagsHub(BaseHTTPRequestHandler):
    """Stands in for DagsHub's MLflow (unreachable here): accepts one user's token, refuses others."""

    def do_GET(self):  # noqa: N802
        expected = "Basic " + base64.b64encode(b"alice:good-token").decode()
        ok = self.headers.get("Authorization") == expected
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"experiments": []}' if ok else b'{"error": "unauthorized"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_dagshub():
    server = HTTPServer(("127.0.0.1", 0), _FakeDagsHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_rejected_credentials_are_reported_without_the_token(monkeypatch, fake_dagshub):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "bad-token")
    with pytest.raises(UserError, match="refused the credentials.*MLFLOW_TRACKING_PASSWORD") as err:
        tracking.probe(tracking.TrackingTarget(fake_dagshub, "env"))
    assert "bad-token" not in str(err.value)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "good-token")
    tracking.probe(tracking.TrackingTarget(fake_dagshub, "env"))  # accepted: no error


def test_a_401_from_dagshub_names_the_variable_to_fix(monkeypatch, fake_dagshub):
    # the right token under the wrong user name (e.g. the organisation's): the message says which
    # variable holds the user name and what it must be
    monkeypatch.setenv("DAGSHUB_REPO", "team/proj")
    monkeypatch.setenv("DAGSHUB_TOKEN", "good-token")
    monkeypatch.setenv("DAGSHUB_USER", "team")
    target = tracking.resolve_target()
    with pytest.raises(UserError, match=r"check DAGSHUB_USER \(now 'team': it must be the DagsHub user the token "
                                        r"belongs to\)") as err:
        tracking.probe(tracking.TrackingTarget(fake_dagshub, target.kind))
    assert "good-token" not in str(err.value)
    monkeypatch.setenv("DAGSHUB_USERNAME", "alice")  # DagsHub's own name wins over the alias
    tracking.resolve_target()
    tracking.probe(tracking.TrackingTarget(fake_dagshub, "dagshub"))


def test_unreachable_server_fails_fast_with_one_clear_line(clean_data, isolated_project):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = subprocess.run(
        [sys.executable, "-m", "chromatic_charm.cli", "train", "--data", str(clean_data), "--model-size", "tiny",
         "--image-size", "32", "--batch-size", "4", "--device", "cpu", "--no-progress"],
        capture_output=True, text=True, timeout=120,  # a guard against a hang, not a timing assertion
        env={**os.environ, "MLFLOW_TRACKING_URI": url},
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the MLflow tracking server" in lines[0] and url in lines[0]


RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("uri,expected", [
    (RUN, {"run_id": RUN}),
    (f"runs:/{RUN}", {"run_id": RUN}),
    (f"runs:/{RUN}/generator", {"run_id": RUN}),
    (f"runs:/{RUN}/onnx/generator.onnx", {"run_id": RUN}),
    (f"models:/m-{RUN}", {"model_id": f"m-{RUN}"}),
    ("models:/chromatic-charm-generator@champion", {"name": "chromatic-charm-generator", "alias": "champion"}),
    ("models:/chromatic-charm-generator/3", {"name": "chromatic-charm-generator", "version": "3"}),
])
def test_model_references_are_parsed_one_way(uri, expected):
    ref = tracking.parse(uri)
    fields = {k: v for k, v in vars(ref).items() if k != "uri" and v is not None}
    assert fields == expected


@pytest.mark.parametrize("uri", ["runs:/not-a-run", "models:/", "models:/name", "models:/name@", "checkpoints/x",
                                 "s3://bucket/model"])
def test_anything_else_is_not_a_model_reference(uri):
    with pytest.raises(UserError, match="is not a model reference: use a run id, runs:/<run id>, models:/m-<id>"):
        tracking.parse(uri)


def test_error_lines_never_carry_credentials(monkeypatch):
    monkeypatch.setenv("DAGSHUB_TOKEN", "tok-12345")
    exc = RuntimeError("API request to http://alice:tok-12345@dagshub.example/api failed\nsecond line tok-12345")
    line = tracking.first_line(exc)
    assert line == "API request to http://***@dagshub.example/api failed"
    assert tracking.first_line(ValueError("token tok-12345 refused")) == "token *** refused"
    assert tracking.first_line(KeyError()) == "KeyError"  # an empty message


def test_a_bare_run_id_in_chromatic_charm_model_is_a_reference(monkeypatch, isolated_project):
    from chromatic_charm.inference import default_model_path

    monkeypatch.setenv("CHROMATIC_CHARM_MODEL", RUN)  # no such run in the local store
    with pytest.raises(UserError, match=f"cannot fetch the ONNX export of run {RUN}"):
        default_model_path()
    monkeypatch.setenv("CHROMATIC_CHARM_MODEL", str(isolated_project / "missing.onnx"))
    assert default_model_path() == isolated_project / "missing.onnx"  # a path stays a path


@pytest.mark.slow  # over 7 s on 2 cores: the full suite only (-m "not slow" stays under 3 minutes)
def test_commands_that_first_use_a_new_local_store_together_all_succeed(tmp_path):
    """Two `train` started at once on a fresh clone (or `dvc repro -j 2`) both create the sqlite store's tables;
    without the lock beside the store one of them failed ('duplicate column name: step')."""
    code = ("import sys; from chromatic_charm.tracking.target import connect; "
            "print('experiment', connect('together')[1])")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSHUB_"))}
    for attempt in range(2):  # the race is narrow: two fresh stores, three processes each
        root = tmp_path / f"project{attempt}"
        root.mkdir()
        procs = [subprocess.Popen([sys.executable, "-c", code], env={**env, "CHROMATIC_CHARM_ROOT": str(root)},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outs = [p.communicate(timeout=180) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in outs]
        assert len({out.strip().splitlines()[-1] for out, _ in outs}) == 1  # one experiment, the same id for all
        assert (root / "mlflow.db.lock").is_file()


def test_a_metric_measured_again_shows_its_latest_value_not_its_largest(isolated_project):
    """``evaluate`` run again on the same run (``dvc repro`` after a change) must replace its numbers: with
    equal timestamps MLflow would show the largest value ever logged (the worst error)."""
    import time

    tracking.use_target()
    client = MlflowClient()
    experiment = client.create_experiment("measured-again")
    run_id = client.create_run(experiment).info.run_id
    tracking.log_measurements(run_id, {"test_ciede2000": 12.5, "test_fid": 80.0})
    time.sleep(0.01)
    tracking.log_measurements(run_id, {"test_ciede2000": 11.0, "test_fid": 70.0})
    metrics = client.get_run(run_id).data.metrics
    assert metrics["test_ciede2000"] == 11.0 and metrics["test_fid"] == 70.0
    assert len(client.get_metric_history(run_id, "test_fid")) == 2  # the history keeps both
