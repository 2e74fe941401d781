"""Real MLflow servers for the tests, as our users meet them.

- ``start_server``: ``mlflow server`` on 127.0.0.1 with its own sqlite store and artifact folder,
  from any Python: this venv's MLflow 3, or MLflow 2.7.1, the version DagsHub hosts, installed from
  PyPI into its own virtual environment (``mlflow27_python``; it needs ``sqlalchemy<2.0.30`` and
  runs its own gunicorn, so that venv's bin goes first on PATH).
- ``Proxy``: a reverse proxy in front of a server that answers 404 to the model-registry endpoints,
  as DagsHub's hosted MLflow does, and that can stop answering (``silence()``) to play a tracking
  server that hangs mid-run.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MLFLOW27 = "2.7.1"
MLFLOW27_VENV = REPO / ".cache" / f"mlflow-{MLFLOW27}-venv"
REGISTRY_PATHS = ("/registered-models", "/model-versions")


def mlflow27_python() -> Path:
    """The Python of a virtual environment holding mlflow==2.7.1 (made once, then reused). A lock file
    makes the others wait for the one that makes it: parallel test workers, or a test and the
    background start of ``prepare_mlflow27``."""
    python = MLFLOW27_VENV / "bin" / "python"
    done = MLFLOW27_VENV / ".complete"
    MLFLOW27_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(MLFLOW27_VENV.parent / f"{MLFLOW27_VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return python
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(MLFLOW27_VENV)], check=True)
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                              f"mlflow=={MLFLOW27}", "sqlalchemy<2.0.30"], capture_output=True, text=True)
        if pip.returncode != 0:
            raise RuntimeError(f"could not install mlflow=={MLFLOW27}: {pip.stderr[-2000:]}")
        done.write_text(MLFLOW27)
    return python


def prepare_mlflow27() -> None:
    """Start making the MLflow 2.7.1 venv in the background (a fresh machine's pip install, about 30 s),
    so that the tests that need it find it made (nothing to do when it is already there)."""
    if (MLFLOW27_VENV / ".complete").is_file():
        return

    def make():
        try:
            mlflow27_python()
        except (RuntimeError, OSError):
            pass  # the fixture that needs it tries again, and reports

    threading.Thread(target=make, name="mlflow27-venv", daemon=True).start()


def start_server(python: Path | str, base: Path, port: int, timeout: float = 120) -> tuple[str, subprocess.Popen]:
    """``mlflow server`` of ``python`` on 127.0.0.1:``port``; returns (url, process) once /health answers."""
    import requests

    base.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = open(base / "server.log", "w")
    proc = subprocess.Popen(
        [str(python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
         "--artifacts-destination", str(base / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=base, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(base / 'server.log').read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return url, proc
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"mlflow server did not start in {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Proxy:
    """Forwards every request to ``upstream``; ``registry=False`` answers 404 to the registry's
    endpoints (DagsHub); ``silence()`` makes it accept requests and hold them unanswered (until
    ``resume()``), ``failing = True`` answers 503 to everything."""

    def __init__(self, upstream: str, *, registry: bool = True):
        self.upstream = upstream.rstrip("/")
        self.registry = registry
        self.answering = threading.Event()
        self.answering.set()
        self.failing = False  # answer 503 to everything
        self.closed = threading.Event()
        self.requests: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                import requests

                proxy.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                while not proxy.answering.is_set():  # a server that hangs: hold the request open
                    if proxy.closed.wait(0.2):
                        return
                if proxy.failing:
                    self._reply(503, b"<!doctype html><title>503 Service Unavailable</title>", "text/html")
                    return
                if not proxy.registry and any(p in self.path for p in REGISTRY_PATHS):
                    self._reply(404, b"<!doctype html><title>404 Not Found</title>", "text/html")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                upstream = requests.request(self.command, proxy.upstream + self.path, data=body, headers=headers,
                                            timeout=120)
                self._reply(upstream.status_code, upstream.content, upstream.headers.get("Content-Type"))

            def _reply(self, status: int, content: bytes, content_type: str | None):
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                try:
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout): nothing to answer
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def silence(self) -> None:
        self.answering.clear()

    def resume(self) -> None:
        self.answering.set()

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()
