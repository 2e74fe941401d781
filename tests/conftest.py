"""Shared fixtures: tiny synthetic clean data, a tiny training config, a real MLflow server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from mlflow_servers import Proxy, mlflow27_python, prepare_mlflow27, start_server, stop_server

REPO = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = REPO.parent / "shared" / "data" / "photos"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist (the README's `-n 2`), each worker's own torch uses one thread: two workers of two
    # threads each on 2 cores made the suite slower than one process.
    import torch

    torch.set_num_threads(1)


def pytest_collection_finish(session):
    """The MLflow 2.7.1 venv made in the background from the start when a selected test needs it."""
    needs = {"mlflow27_server", "dagshub_like_server", "tracking_uri"}  # tracking_uri: test_pipeline's stores
    if any(needs & set(getattr(item, "fixturenames", ())) for item in session.items):
        prepare_mlflow27()


@pytest.fixture(autouse=True)
def isolated_project(tmp_path, monkeypatch):
    """Each test gets its own project root (mlflow.db, checkpoints) and no tracking credentials."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setenv("CHROMATIC_CHARM_ROOT", str(root))
    for name in ("MLFLOW_TRACKING_URI", "DAGSHUB_REPO", "DAGSHUB_TOKEN", "DAGSHUB_USER_TOKEN", "DAGSHUB_USERNAME",
                 "DAGSHUB_USER",
                 "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return root


def synthetic_photos(n: int, size: int, seed: int) -> np.ndarray:
    """(n, size, size, 3) uint8 'photos': smooth colour fields whose hue follows the lightness,
    so a colouriser has something learnable."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        fx, fy, phase = rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0), rng.uniform(0, 2 * np.pi)
        light = 0.5 + 0.4 * np.sin(2 * np.pi * (fx * xx + fy * yy) + phase)
        rgb = np.stack([light, light**2, 1.0 - light], axis=-1)  # bright = orange, dark = blue
        rgb += rng.normal(0, 0.02, rgb.shape)
        out[i] = np.clip(rgb * 255, 0, 255).astype(np.uint8)
    return out


def write_clean_data(root: Path, sizes=(48, 8, 8), size: int = 32, seed: int = 0) -> Path:
    """A clean-data folder in prepare's format, without running prepare."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (split, n) in enumerate(zip(("train", "val", "test"), sizes)):
        arr = synthetic_photos(n, size, seed * 10 + k)
        np.save(root / f"{split}.npy", arr)
        rows += [f"{split},{i},synthetic/{split}_{i}.png" for i in range(n)]
    (root / "index.csv").write_text("split,row,source\n" + "\n".join(rows) + "\n")
    manifest = {"format": 1, "size": size, "splits": dict(zip(("train", "val", "test"), sizes)),
                "data_version": f"synthetic-{seed}", "source": "synthetic", "seed": seed}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="session")
def clean_data(tmp_path_factory) -> Path:
    return write_clean_data(tmp_path_factory.mktemp("clean"))


@pytest.fixture
def tiny_config(clean_data, tmp_path):
    from chromatic_charm.training.config import TrainConfig

    return TrainConfig(data_dir=str(clean_data), model_size="tiny", image_size=32, batch_size=8, epochs=1,
                       device="cpu", num_workers=0, checkpoint_dir=str(tmp_path / "ckpt"), run_name="test",
                       log_every=2, checkpoint_every=1000, num_samples=4, experiment="tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` (this venv's MLflow 3) on 127.0.0.1 with its own sqlite store and artifacts."""
    url, proc = start_server(sys.executable, tmp_path_factory.mktemp("mlflow-server"), free_port())
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def mlflow27_server(tmp_path_factory):
    """A real MLflow 2.7.1 server, the version DagsHub hosts (its own venv, made once under .cache/)."""
    try:
        python = mlflow27_python()
    except (RuntimeError, OSError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"MLflow 2.7.1 could not be installed from PyPI here: {exc}")
    url, proc = start_server(python, tmp_path_factory.mktemp("mlflow27-server"), free_port())
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def dagshub_like_server(mlflow27_server):
    """MLflow 2.7.1 behind a proxy that answers 404 to the model registry, as DagsHub does."""
    proxy = Proxy(mlflow27_server, registry=False)
    yield proxy.url
    proxy.close()


def train_tiny(root: Path, clean_data: Path, **overrides) -> Path:
    """A tiny generator trained for 3 steps in its own project ``root`` (its MLflow store there); its last.pt."""
    from chromatic_charm.training.config import TrainConfig
    from chromatic_charm.training.loop import train

    old = os.environ.get("CHROMATIC_CHARM_ROOT")
    os.environ["CHROMATIC_CHARM_ROOT"] = str(root)
    try:
        config = TrainConfig(data_dir=str(clean_data), model_size="tiny", image_size=32, batch_size=8, epochs=1,
                             device="cpu", num_workers=0, checkpoint_dir=str(root / "ckpt"), max_steps=3,
                             **{"experiment": "inference", **overrides})
        return train(config, progress=False).checkpoint
    finally:
        if old is None:
            os.environ.pop("CHROMATIC_CHARM_ROOT", None)
        else:
            os.environ["CHROMATIC_CHARM_ROOT"] = old


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, clean_data) -> Path:
    return train_tiny(tmp_path_factory.mktemp("project"), clean_data)


@pytest.fixture(scope="session")
def onnx_model(tiny_checkpoint, clean_data):
    """The tiny checkpoint exported as the API serves it (taking hints)."""
    from chromatic_charm.export import export

    path = tiny_checkpoint.parent.parent / "generator.onnx"
    export(str(tiny_checkpoint), path, data_dir=clean_data)
    return path


@pytest.fixture(scope="session")
def l_only_model(tiny_checkpoint, clean_data, tmp_path_factory):
    """The same checkpoint's L-only export (``--no-hints``): a model as exported before hints."""
    from chromatic_charm.export import export

    path = tmp_path_factory.mktemp("l-only") / "generator.onnx"
    export(str(tiny_checkpoint), path, hints=False, data_dir=clean_data)
    return path


def start_gunicorn(model: Path | str, env: dict | None = None) -> tuple[str, subprocess.Popen]:
    """`chromatic-charm serve` (a real gunicorn) on a free port of 127.0.0.1, once it is ready.
    ``model``: an .onnx file or a model reference (``runs:/...``, ``models:/...``); ``env``: extra variables."""
    import requests

    port = free_port()
    env = {**os.environ, **(env or {}), "CHROMATIC_CHARM_MODEL": str(model), "WEB_CONCURRENCY": "2",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "chromatic_charm.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{url}/ready", timeout=2).ok:
                return url, proc
        except requests.RequestException:
            time.sleep(0.3)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(f"gunicorn did not get ready: {proc.stdout.read()[-2000:]}")


@contextmanager
def gunicorn(model: Path | str, env: dict | None = None):
    """``start_gunicorn`` for a ``with`` block: (url, process), killed at its end."""
    url, proc = start_gunicorn(model, env)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def server(onnx_model):
    with gunicorn(onnx_model) as running:
        yield running


@pytest.fixture(scope="session")
def server_without_hints(l_only_model):
    """gunicorn serving the L-only export (``hints=False``) of the checkpoint behind ``onnx_model``."""
    with gunicorn(l_only_model) as running:
        yield running
