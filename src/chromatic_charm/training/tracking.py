"""Every MLflow and DagsHub call of the project.

Where runs go, in order:
1. ``MLFLOW_TRACKING_URI`` when set (any MLflow server, or a local ``sqlite:///`` file);
2. DagsHub's hosted MLflow when ``DAGSHUB_REPO`` (owner/name) and a token (``DAGSHUB_TOKEN`` or
   ``DAGSHUB_USER_TOKEN``) are set: ``https://dagshub.com/<owner>/<name>.mlflow``, authenticated as
   ``DAGSHUB_USERNAME`` (default: the repo owner) with the token as password;
3. otherwise the embedded store ``sqlite:///<repo>/mlflow.db`` with artifacts in ``<repo>/mlartifacts``.

A remote server is probed before training starts, so an unreachable one fails within seconds with
a clear message instead of minutes of retries. Secrets only ever travel in environment variables
and are never printed.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..config import project_root
from ..errors import UserError

DAGSHUB_HOST = "https://dagshub.com"
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TrackingTarget:
    uri: str
    kind: str  # "env", "dagshub" or "local"

    @property
    def is_remote(self) -> bool:
        return self.uri.startswith(("http://", "https://"))

    @property
    def display(self) -> str:
        """The URI without any credentials embedded in it, for messages and logs."""
        parts = urlsplit(self.uri)
        if parts.password or parts.username:
            netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.uri


def resolve_target() -> TrackingTarget:
    """Decide where runs go (see the module docstring); sets DagsHub credentials for MLflow."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return TrackingTarget(uri, "env")
    repo = os.environ.get("DAGSHUB_REPO", "").strip()
    token = os.environ.get("DAGSHUB_TOKEN") or os.environ.get("DAGSHUB_USER_TOKEN")
    if repo:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise UserError(f"DAGSHUB_REPO must be 'owner/name', got {repo!r}")
        if not token:
            raise UserError(
                "DAGSHUB_REPO is set but no token: set DAGSHUB_TOKEN (DagsHub > Settings > Tokens), "
                "or unset DAGSHUB_REPO to track runs locally"
            )
        owner = repo.split("/")[0]
        os.environ.setdefault("MLFLOW_TRACKING_USERNAME", os.environ.get("DAGSHUB_USERNAME", owner))
        os.environ.setdefault("MLFLOW_TRACKING_PASSWORD", token)
        return TrackingTarget(f"{DAGSHUB_HOST}/{repo}.mlflow", "dagshub")
    return TrackingTarget(f"sqlite:///{project_root() / 'mlflow.db'}", "local")


def _limit_http_retries() -> None:
    # MLflow's defaults retry an unreachable server for minutes; a user waiting on a notebook cell
    # wants to know in seconds. Users can still raise them in their environment.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    # MLflow's usage telemetry phones home; off unless the user opts in.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def probe(target: TrackingTarget, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise UserError within ``timeout`` seconds if a remote server is unreachable or refuses us."""
    if not target.is_remote:
        return
    import requests

    auth = None
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    headers = {}
    if user and password:
        auth = (user, password)
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    url = target.uri.rstrip("/") + "/api/2.0/mlflow/experiments/search"
    try:
        response = requests.get(url, params={"max_results": 1}, auth=auth, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise UserError(
            f"cannot reach the MLflow tracking server at {target.display} ({type(exc).__name__}); "
            "check the address and your network, or unset MLFLOW_TRACKING_URI/DAGSHUB_REPO to track locally"
        ) from None
    if response.status_code in (401, 403):
        raise UserError(
            f"the MLflow server at {target.display} refused the credentials (HTTP {response.status_code}); "
            "check DAGSHUB_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD"
        )
    if response.status_code >= 400:
        raise UserError(
            f"the MLflow server at {target.display} answered HTTP {response.status_code}; "
            "is this the address of an MLflow tracking server?"
        )


def use_target() -> TrackingTarget:
    """Resolve the target, check it answers, and point MLflow at it."""
    import mlflow

    target = resolve_target()
    _limit_http_retries()
    probe(target)
    mlflow.set_tracking_uri(target.uri)
    return target


def connect(experiment: str) -> tuple[TrackingTarget, str]:
    """Point MLflow at the resolved target and return (target, experiment id)."""
    import mlflow

    target = use_target()
    try:
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:
            # The embedded store keeps artifacts beside it in the repo, whatever the current folder.
            location = (project_root() / "mlartifacts").as_uri() if target.kind == "local" else None
            experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
        else:
            experiment_id = found.experiment_id
    except Exception as exc:  # MLflow raises many types; the user needs the target and the cause
        raise UserError(f"MLflow at {target.display} failed: {_first_line(exc)}") from None
    return target, experiment_id


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def git_commit() -> tuple[str, bool]:
    """(commit hash, dirty) of the project repo, or ("unknown", False) outside git."""
    root = project_root()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return commit, dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


class RunLogger:
    """One MLflow run: params once, metrics buffered and sent in batches, images, the model.

    A failing server during training must not cost the training: failed metric batches are kept and
    sent again at the next flush, with a warning.
    """

    MAX_BUFFER = 200_000

    def __init__(self, run_id: str):
        from mlflow.tracking import MlflowClient

        self.run_id = run_id
        self.client = MlflowClient()
        self._pending: list = []
        self._warned = False

    @classmethod
    def start(cls, experiment_id: str, *, run_name: str | None, run_id: str | None = None,
              tags: dict[str, str] | None = None) -> RunLogger:
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        if run_id is not None:
            client.update_run(run_id, status="RUNNING")
            return cls(run_id)
        run = client.create_run(experiment_id, run_name=run_name, tags=tags or {})
        return cls(run.info.run_id)

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending += [Metric(k, float(v), now, step) for k, v in metrics.items()]
        del self._pending[:-self.MAX_BUFFER]

    def flush(self) -> bool:
        """Send buffered metrics; True when nothing is left pending."""
        try:
            while self._pending:
                chunk = self._pending[:1000]
                self.client.log_batch(self.run_id, metrics=chunk)
                del self._pending[:len(chunk)]
            self._warned = False
            return True
        except Exception as exc:  # keep training; the metrics stay buffered for the next flush
            if not self._warned:
                warnings.warn(f"MLflow logging failed, will retry: {_first_line(exc)}", stacklevel=2)
                self._warned = True
            return False

    def log_image(self, image, artifact_file: str) -> None:
        self.client.log_image(self.run_id, image, artifact_file=artifact_file)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def end(self, status: str = "FINISHED") -> None:
        self.flush()
        self.client.set_terminated(self.run_id, status=status)
