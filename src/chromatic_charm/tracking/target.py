"""Where runs go, the credentials, and what the server can do.

Where runs go, in order:
1. ``MLFLOW_TRACKING_URI`` when set (any MLflow server, or a local ``sqlite:///`` file);
2. DagsHub's hosted MLflow when ``DAGSHUB_REPO`` (owner/name) and a token (``DAGSHUB_TOKEN`` or
   ``DAGSHUB_USER_TOKEN``) are set: ``https://dagshub.com/<owner>/<name>.mlflow``, authenticated as
   ``DAGSHUB_USERNAME`` (or ``DAGSHUB_USER``), the user the token belongs to, with the token as
   password. The repo's owner is never assumed: an organisation's repo or a collaborator's token
   would then be refused;
3. otherwise the embedded store ``sqlite:///<repo>/mlflow.db`` with artifacts in ``<repo>/mlartifacts``.

A remote server is probed before any work starts, so an unreachable one fails within seconds with
a clear message instead of minutes of retries. Secrets only ever travel in environment variables
and are never printed.

Servers differ: MLflow 3 servers keep models as "logged models" (``/api/2.0/mlflow/logged-models``);
MLflow 2 servers (DagsHub's is 2.7) do not, and DagsHub has no model registry. ``features`` asks the
server once which of the two it has, and the rest of the package takes the path that works there.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..config import project_root
from .. import errors
from ..errors import UserError

DAGSHUB_HOST = "https://dagshub.com"
PROBE_TIMEOUT_S = 5.0
USERNAME_VARIABLES = ("DAGSHUB_USERNAME", "DAGSHUB_USER")  # the first is DagsHub's own name
TOKEN_VARIABLES = ("DAGSHUB_TOKEN", "DAGSHUB_USER_TOKEN")


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


def _first_set(names) -> tuple[str | None, str | None]:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return name, value
    return None, None


_SET_BY_US: set[str] = set()  # URIs that use_target put into MLFLOW_TRACKING_URI (MLflow 3 does that)


def resolve_target() -> TrackingTarget:
    """Decide where runs go (see the module docstring); sets DagsHub credentials for MLflow."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri and uri not in _SET_BY_US:
        return TrackingTarget(uri, "env")
    repo = os.environ.get("DAGSHUB_REPO", "").strip()
    if repo:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise UserError(f"DAGSHUB_REPO must be 'owner/name', got {repo!r}")
        _, token = _first_set(TOKEN_VARIABLES)
        if not token:
            raise UserError(
                "DAGSHUB_REPO is set but no token: set DAGSHUB_TOKEN (DagsHub > Settings > Tokens), "
                "or unset DAGSHUB_REPO to track runs locally"
            )
        _, user = _first_set(USERNAME_VARIABLES)
        if not user and not os.environ.get("MLFLOW_TRACKING_USERNAME"):
            raise UserError(
                "DAGSHUB_REPO is set but not your DagsHub user name: set DAGSHUB_USERNAME to the user the "
                "token belongs to (not necessarily the repo's owner)"
            )
        if user:
            os.environ["MLFLOW_TRACKING_USERNAME"] = user
        os.environ["MLFLOW_TRACKING_PASSWORD"] = token
        return TrackingTarget(f"{DAGSHUB_HOST}/{repo}.mlflow", "dagshub")
    return TrackingTarget(f"sqlite:///{project_root() / 'mlflow.db'}", "local")


def limit_http_retries() -> None:
    # MLflow's defaults retry an unreachable server for minutes; a user waiting on a notebook cell
    # wants to know in seconds. Users can still raise them in their environment.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    # MLflow's usage telemetry phones home; off unless the user opts in.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _auth() -> tuple[tuple[str, str] | None, dict]:
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return (user, password), {}
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        return None, {"Authorization": f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"}
    return None, {}


def _credentials_hint(target: TrackingTarget) -> str:
    if target.kind == "dagshub":
        user = os.environ.get("MLFLOW_TRACKING_USERNAME", "")
        name = _first_set(USERNAME_VARIABLES)[0] or "MLFLOW_TRACKING_USERNAME"
        token = _first_set(TOKEN_VARIABLES)[0] or "DAGSHUB_TOKEN"
        return (f"check {name} (now '{user}': it must be the DagsHub user the token belongs to) and "
                f"{token} (a valid token of that user, with access to the repo)")
    return "check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"


def _request(target: TrackingTarget, method: str, path: str, timeout: float, **kwargs):
    import requests

    auth, headers = _auth()
    return requests.request(method, target.uri.rstrip("/") + path, auth=auth, headers=headers, timeout=timeout,
                            **kwargs)


def probe(target: TrackingTarget, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise UserError within ``timeout`` seconds if a remote server is unreachable or refuses us."""
    if not target.is_remote:
        return
    import requests

    try:
        response = _request(target, "GET", "/api/2.0/mlflow/experiments/search", timeout,
                            params={"max_results": 1})
    except requests.RequestException as exc:
        raise UserError(
            f"cannot reach the MLflow tracking server at {target.display} ({type(exc).__name__}); "
            "check the address and your network, or unset MLFLOW_TRACKING_URI/DAGSHUB_REPO to track locally"
        ) from None
    if response.status_code in (401, 403):
        raise UserError(
            f"the MLflow server at {target.display} refused the credentials (HTTP {response.status_code}); "
            + _credentials_hint(target)
        )
    if response.status_code >= 400:
        raise UserError(
            f"the MLflow server at {target.display} answered HTTP {response.status_code}; "
            "is this the address of an MLflow tracking server?"
        )


@dataclass(frozen=True)
class ServerFeatures:
    logged_models: bool  # MLflow 3's /logged-models API (models:/m-<id>)
    registry: bool  # the model registry (registered models, versions, aliases)


_FEATURES: dict[str, ServerFeatures] = {}


def features(target: TrackingTarget | None = None) -> ServerFeatures:
    """What the tracking server offers, asked once per address (a local store has everything).

    A 404 (or 405/501) means the API is missing; any other answer that it is there. A server that
    cannot be asked raises a UserError (and nothing is remembered)."""
    import requests

    target = target or resolve_target()
    if not target.is_remote:
        return ServerFeatures(logged_models=True, registry=True)
    if target.uri not in _FEATURES:
        try:
            logged = _request(target, "POST", "/api/2.0/mlflow/logged-models/search", PROBE_TIMEOUT_S * 2,
                              json={"max_results": 1})
            registry = _request(target, "GET", "/api/2.0/mlflow/registered-models/search", PROBE_TIMEOUT_S * 2,
                                params={"max_results": 1})
        except requests.RequestException as exc:
            raise UserError(f"cannot ask the MLflow server at {target.display} what it supports "
                            f"({type(exc).__name__}); try again, or check the address") from None
        _FEATURES[target.uri] = ServerFeatures(logged_models=logged.status_code not in (404, 405, 501),
                                               registry=registry.status_code not in (404, 405, 501))
    return _FEATURES[target.uri]


def use_target() -> TrackingTarget:
    """Resolve the target, check it answers, and point MLflow at it."""
    import mlflow

    target = resolve_target()
    limit_http_retries()
    probe(target)
    if target.kind != "env":  # MLflow 3 also writes it to MLFLOW_TRACKING_URI: not the user's choice
        _SET_BY_US.add(target.uri)
    mlflow.set_tracking_uri(target.uri)
    _initialise_sqlite(target)
    return target


_SQLITE_READY: set[str] = set()


def _initialise_sqlite(target: TrackingTarget) -> None:
    """Create (or migrate) an sqlite store's tables under a file lock beside it, once per process: two
    commands that first use a new store at the same moment (two `train` started together, `dvc repro -j 2`)
    would otherwise both create its tables, and one fails ('duplicate column name', 'table ... already
    exists'). Without fcntl (Windows) the store is opened as before."""
    if target.uri in _SQLITE_READY or not target.uri.startswith("sqlite:///"):
        return
    try:
        import fcntl
    except ImportError:
        return
    from mlflow.tracking import MlflowClient

    path = Path(target.uri.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            MlflowClient(target.uri).search_experiments(max_results=1)  # creates and migrates the tables
        except Exception as exc:
            raise UserError(f"MLflow at {target.display} failed: {first_line(exc)}") from None
    _SQLITE_READY.add(target.uri)


def connect(experiment: str) -> tuple[TrackingTarget, str]:
    """Point MLflow at the resolved target and return (target, experiment id)."""
    import mlflow

    target = use_target()
    try:
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:
            # The embedded store keeps artifacts beside it in the repo, whatever the current folder.
            location = (project_root() / "mlartifacts").as_uri() if target.kind == "local" else None
            try:
                experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
            except Exception:  # created by another command in the meantime: use it
                found = mlflow.get_experiment_by_name(experiment)
                if found is None:
                    raise
                experiment_id = found.experiment_id
        else:
            experiment_id = found.experiment_id
    except Exception as exc:  # MLflow raises many types; the user needs the target and the cause
        raise UserError(f"MLflow at {target.display} failed: {first_line(exc)}") from None
    return target, experiment_id


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type, when empty), secrets removed: MLflow's
    messages quote request URLs, which may carry ``user:token@``."""
    line = re.sub(r"(://)[^/@\s]+@", r"\1***@", errors.first_line(exc))
    for name in ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", *TOKEN_VARIABLES):
        secret = os.environ.get(name, "").strip()
        if len(secret) >= 4:
            line = line.replace(secret, "***")
    return line


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
