"""The serving image: hadolint passes, no torch, non-root, a health check, gunicorn as the command.
(No Docker engine runs here or in CI, so the image itself is not built in the tests.)"""

import shutil
import subprocess
import sys
from pathlib import Path

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
