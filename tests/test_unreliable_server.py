"""A tracking server that fails or stops answering never stalls or ends a training.

Real servers (MLflow 2.7.1, DagsHub's version) behind a local proxy that can answer 503 or hold
every request unanswered, as a server that hangs does.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import threading
import time

import pytest
import requests
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from chromatic_charm import tracking

from mlflow_servers import Proxy


@pytest.fixture
def proxy(mlflow27_server):
    proxy = Proxy(mlflow27_server, registry=False)
    yield proxy
    proxy.close()


@pytest.mark.slow
def test_training_finishes_when_the_server_stops_answering_mid_run(proxy, clean_data, isolated_project, tmp_path):
    ckpt = tmp_path / "ckpt"
    env = {**os.environ, "MLFLOW_TRACKING_URI": proxy.url, "CHROMATIC_CHARM_ROOT": str(isolated_project),
           # each request waits for its answer for up to 10 minutes: a synchronous upload would hang the
           # training until the guard below; the final flush and the model upload wait 5 s
           "MLFLOW_HTTP_REQUEST_TIMEOUT": "600", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
           "CHROMATIC_CHARM_TRACKING_TIMEOUT": "5"}

    def go_silent_after_the_first_metrics():
        deadline = time.time() + 300
        while time.time() < deadline and not any("log-batch" in r and "POST" in r for r in proxy.requests[3:]):
            time.sleep(0.05)
        proxy.silence()

    watcher = threading.Thread(target=go_silent_after_the_first_metrics, daemon=True)
    watcher.start()
    proc = subprocess.run(
        [sys.executable, "-m", "chromatic_charm.cli", "train", "--data", str(clean_data), "--model-size", "tiny",
         "--image-size", "32", "--batch-size", "8", "--epochs", "4", "--device", "cpu", "--workers", "0",
         "--log-every", "1", "--checkpoint-dir", str(ckpt), "--experiment", "hang", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=400,  # a guard against a hang, not a timing
    )
    assert not proxy.answering.is_set(), "the server was never silenced: the test did not test anything"
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "done: run" in proc.stdout and "model: not uploaded to MLflow (the checkpoint holds it)" in proc.stdout
    state = torch.load(ckpt / "last.pt", weights_only=True)
    assert (state["step"], state["epoch"]) == (24, 4)  # all 4 epochs of 6 steps trained
    # the epoch images are kept beside the checkpoint, whatever the server does
    samples = sorted(p.name for p in (ckpt / "samples").glob("*.png"))
    assert samples == [f"epoch_{e:03d}_step_{6 * e:06d}.png" for e in range(1, 5)]
    assert Image.open(ckpt / "samples" / samples[-1]).size == (3 * 32, 8 * 32)  # gray | colour | truth, 8 rows
    # what did not go up is written down, not lost: the losses of the last steps at least
    with open(ckpt / "unsent_metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["key"] for r in rows} >= {"loss_G_GAN", "loss_G_L1", "loss_D_real", "loss_D_fake"}
    assert max(int(r["step"]) for r in rows) == 24
    lines = proc.stderr.strip().splitlines()
    assert sum("did not take everything" in line for line in lines) == 1
    assert sum("generator was not uploaded" in line for line in lines) == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_failed_uploads_are_reported_once_retried_and_arrive(proxy, monkeypatch, capfd):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", proxy.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    _, experiment_id = tracking.connect("flaky")
    logger = tracking.RunLogger.start(experiment_id, run_name="flaky", cooldown_s=0.3, display=proxy.url)
    logger.log_metrics({"loss": 1.0}, step=1)
    assert logger.drain(30)
    proxy.failing = True
    for step in range(2, 12):
        logger.log_metrics({"loss": float(step)}, step=step)
        time.sleep(0.1)
    deadline = time.time() + 30
    while logger.healthy and time.time() < deadline:
        time.sleep(0.05)
    assert not logger.healthy
    time.sleep(1.0)  # a few cool-downs: still one report
    proxy.failing = False
    assert logger.close("FINISHED", wait=30)
    err = capfd.readouterr().err
    assert len(re.findall(r"MLflow at \S+ failed \(", err)) == 1 and "answers again" in err
    client = MlflowClient(proxy.url)
    history = client.get_metric_history(logger.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(1, 12))  # nothing lost
    assert client.get_run(logger.run_id).info.status == "FINISHED"


def test_an_upload_that_raises_does_not_reach_the_caller(tmp_path, isolated_project):
    _, experiment_id = tracking.connect("raises")
    logger = tracking.RunLogger.start(experiment_id, run_name="raises", local_dir=tmp_path, cooldown_s=0.1)

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    logger.client.log_artifact = broken
    logger.log_image(Image.new("RGB", (8, 8)), "samples/x.png")  # queued, written locally
    logger.log_metrics({"a": 1.0}, step=1)
    assert (tmp_path / "samples" / "x.png").is_file()
    assert not logger.close("FINISHED", wait=1.5)  # the image never went up: said, not raised
    assert MlflowClient().get_metric_history(logger.run_id, "a")[0].value == 1.0


def test_run_bounded_leaves_a_hanging_call_behind():
    release = threading.Event()
    assert tracking.run_bounded(lambda: 42, 5) == (True, 42)
    done, error = tracking.run_bounded(lambda: 1 / 0, 5)
    assert not done and isinstance(error, ZeroDivisionError)
    assert tracking.run_bounded(lambda: release.wait(60), 0.2) == (False, None)
    release.set()


def test_the_hanging_proxy_holds_requests(proxy):
    # the test double itself: silent means no answer at all, not an error
    proxy.silence()
    with pytest.raises(requests.Timeout):
        requests.get(f"{proxy.url}/health", timeout=1)
    proxy.resume()
    assert requests.get(f"{proxy.url}/health", timeout=10).ok
