"""API/Dockerfile without a Docker daemon: hadolint, what the image must hold, and a build context that
holds what the Dockerfile copies. The image itself is built and run by scripts/image_check.py (CI's
.ci/docker_check); docs/deployment.md describes it."""

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

DOCKERFILE = REPO / "API" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
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


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_final_stage_is_torch_free_non_root_checked_and_holds_only_the_environment():
    requirements = [line.split("#")[0].strip() for line in (REPO / "API" / "requirements.txt").read_text().splitlines()]
    assert requirements and not any(r.startswith(("torch", "mlflow")) for r in requirements if r)
    steps = instructions()
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    assert len(stages) == 2 and steps[stages[0]][1].endswith(" AS build")
    build, final = steps[stages[0]:stages[1]], steps[stages[1]:]
    assert ("ARG", "EXTRAS=serve") in build  # the MLflow client only with EXTRAS=serve,registry
    assert any(word == "RUN" and '"/build[${EXTRAS}]"' in args and "[train]" not in args for word, args in build)
    copies = [args for word, args in final if word == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]  # no src/, no pip, no build files
    assert ("USER", "10001") in final
    health = next(args for word, args in final if word == "HEALTHCHECK")
    assert "/ready" in health and "BIND" in health
    assert next(args for word, args in final if word == "CMD").startswith(
        '["gunicorn", "-c", "python:chromatic_charm.serving.gunicorn_conf"')


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else():
    """.dockerignore excludes everything and lets back exactly the files COPY reads (the context was
    11.7 GB with the virtual environment, data and checkpoints; BENCHMARKS.md)."""
    kept = {line.strip().lstrip("!").rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.strip().startswith("!")}
    rules = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    copied = set()
    for word, args in instructions():
        if word == "COPY" and not args.startswith("--from"):
            copied.update(shlex.split(args)[:-1])
    assert copied == kept and all((REPO / path).exists() for path in copied)
