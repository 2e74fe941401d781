"""The serving image: hadolint passes, no torch, non-root, a health check, gunicorn as the command; and the
Dockerfile replayed as far as a machine without Docker allows (no Docker engine runs here or in CI, so the
image itself is not built in the tests)."""

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO

DOCKERFILE = REPO / "API" / "Dockerfile"


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_torch_free_non_root_and_checked():
    text = DOCKERFILE.read_text()
    requirements = [line.split("#")[0].strip() for line in (REPO / "API" / "requirements.txt").read_text().splitlines()]
    assert not any(line.startswith("torch") for line in requirements) and '"/app[serve]"' in text and "[train]" not in text
    assert "USER 10001" in text and "HEALTHCHECK" in text and "/ready" in text
    assert 'CMD ["gunicorn", "-c", "python:chromatic_charm.serving.gunicorn_conf"' in text


# ---------------------------------------------------------------- the Dockerfile, replayed without Docker

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            word, _, rest = pending.partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


def env_pairs(args: str) -> dict:
    import shlex

    return dict(pair.split("=", 1) for pair in shlex.split(args))


def replay_dockerfile(root: Path) -> dict:
    """Every instruction of API/Dockerfile that can run without Docker, with `/app` at ``root / "app"`` and
    the image's Python at ``root / "venv"`` (a fresh virtual environment): COPY from the repo (the build
    context), each `pip install` of RUN. `useradd` is left to the caller, which starts the app as an
    unprivileged user. Any other instruction or command fails the test: a new line in the Dockerfile must
    be replayed here too. Returns the image's ENV, WORKDIR, USER, HEALTHCHECK and CMD."""
    import json
    import shlex

    app, venv = root / "app", root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    image: dict = {"env": {}, "workdir": "/", "user": None}

    def local(path: str) -> str:
        return str(app) + path[len("/app"):] if path.startswith("/app") else path

    for word, args in dockerfile_instructions():
        if word in ("FROM", "EXPOSE"):
            continue  # the base image is this machine's Python; ports are not published here
        if word == "ENV":
            image["env"].update(env_pairs(args))
        elif word == "WORKDIR":
            image["workdir"] = args
            Path(local(args)).mkdir(parents=True, exist_ok=True)
        elif word == "COPY":
            *sources, dest = shlex.split(args)
            for source in sources:
                target = Path(local(dest))
                target = target / Path(source).name if dest.endswith("/") else target
                target.parent.mkdir(parents=True, exist_ok=True)
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
                else:
                    shutil.copy(REPO / source, target)
        elif word == "RUN":
            for command in args.split("&&"):
                argv = [local(a) if a.startswith("/app") else a.replace('"/app', str(app)) for a in shlex.split(command)]
                if argv[0] == "useradd":
                    continue  # the app is started as an unprivileged user instead
                assert argv[:2] == ["pip", "install"], f"the replay does not know `{command.strip()}`"
                argv = [a.replace("/app", str(app)) if a.startswith("/app") else a for a in argv]
                done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *argv[1:]], capture_output=True, text=True,
                                      timeout=900, cwd=local(image["workdir"]),
                                      env={**os.environ, **image["env"], "PIP_NO_CACHE_DIR": "1"})
                assert done.returncode == 0, f"`{command.strip()}` failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        elif word == "USER":
            image["user"] = args
        elif word == "HEALTHCHECK":
            image["healthcheck"] = json.loads(args.split(" CMD ", 1)[1])
        elif word == "CMD":
            image["cmd"] = json.loads(args)
        else:
            raise AssertionError(f"the replay does not know the instruction {word}")
    return image


@pytest.mark.slow
def test_the_dockerfile_replayed_serves_and_its_health_check_tells_ready_from_broken():
    """No Docker engine runs here or in CI, so the image is replayed as far as this machine allows: its
    `pip install` lines into a fresh virtual environment (no torch may arrive), the app started from the
    installed package with the image's CMD and ENV as an unprivileged user (uid 10001 when the tests run
    as root), and its HEALTHCHECK command run against it: it passes only while /ready is 200."""
    import requests

    from conftest import free_port

    root = Path(tempfile.mkdtemp(prefix="image-"))  # not under pytest's tmp (mode 700): uid 10001 reads it
    try:
        image = replay_dockerfile(root)
        venv_python = root / "venv" / "bin" / "python"
        no_torch = subprocess.run([str(venv_python), "-c", "import torch"], capture_output=True, text=True)
        assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
        # the serve-only environment: serving loads nothing from training/ or evaluation.py
        loaded = subprocess.run([str(venv_python), "-c", "import sys; from chromatic_charm.serving import create_app; "
                                 "create_app().test_client().get('/ready'); print(sorted(m for m in sys.modules if "
                                 "m.startswith(('chromatic_charm.training', 'chromatic_charm.evaluation'))))"],
                                capture_output=True, text=True, timeout=120, cwd=str(root))
        assert loaded.returncode == 0 and loaded.stdout.strip() == "[]", loaded.stderr[-2000:]
        assert image["user"] == "10001"
        broken = root / "models" / "broken.onnx"
        broken.parent.mkdir()
        broken.write_bytes(b"not a model")
        for path in (root, *root.rglob("*")):
            path.chmod(path.stat().st_mode | 0o055)  # readable by others, as the image's files are

        def start(extra_env: dict) -> tuple[subprocess.Popen, int, dict]:
            port = free_port()
            env = {"PATH": f"{root / 'venv' / 'bin'}:/usr/bin:/bin", "HOME": str(root), **image["env"],
                   **extra_env}
            env["BIND"] = env["BIND"].replace(":8000", f":{port}")  # the image's port, free here
            user = (["setpriv", "--reuid", image["user"], "--regid", image["user"], "--clear-groups"]
                    if os.getuid() == 0 else [])
            proc = subprocess.Popen([*user, *image["cmd"]], cwd=str(root / "app"), env=env, start_new_session=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            return proc, port, env

        def healthcheck(env: dict) -> int:
            # The check finds the port in BIND, as in a container whose BIND moved it.
            return subprocess.run(image["healthcheck"], env=env, capture_output=True, timeout=10).returncode

        def wait_up(proc: subprocess.Popen, port: int) -> None:
            deadline = time.time() + 60
            while time.time() < deadline:
                if proc.poll() is not None:
                    raise AssertionError(f"the image's CMD exited with {proc.returncode}: {proc.stdout.read()[-2000:]}")
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                        return
                except requests.RequestException:
                    time.sleep(0.3)
            raise AssertionError("the app did not answer /health within 60 s")

        good, port, env = start({})  # the shipped default model, as the image runs it
        try:
            wait_up(good, port)
            deadline = time.time() + 30  # the HEALTHCHECK's start period
            while healthcheck(env) != 0 and time.time() < deadline:
                time.sleep(0.5)
            assert healthcheck(env) == 0
            assert requests.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
            with Image.new("L", (48, 40), 128) as gray:
                data = io.BytesIO()
                gray.save(data, "PNG")
            response = requests.post(f"http://127.0.0.1:{port}/colorize", data=data.getvalue(),
                                     headers={"Content-Type": "image/png"}, timeout=60)
            assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).size == (48, 40)
            owner = subprocess.run(["ps", "-o", "uid=", "-p", str(good.pid)], capture_output=True, text=True)
            assert owner.stdout.strip() == (image["user"] if os.getuid() == 0 else str(os.getuid()))
        finally:
            os.killpg(good.pid, signal.SIGTERM)
            good.wait(timeout=30)

        bad, port, env = start({"CHROMATIC_CHARM_MODEL": str(broken)})  # as `docker run -e ...` would
        try:
            wait_up(bad, port)
            assert healthcheck(env) == 1  # alive, but not ready: the container is marked unhealthy
            ready = requests.get(f"http://127.0.0.1:{port}/ready", timeout=5)
            assert ready.status_code == 503 and "could not be loaded" in ready.json()["error"]
        finally:
            os.killpg(bad.pid, signal.SIGTERM)
            bad.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)
