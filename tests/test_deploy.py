"""The cloud VM start-up file (API/cloud-init.yaml): valid for cloud-init, and its deploy script does what
docs/deployment.md says. A cloud VM cannot be started here: the file is validated by Debian's cloud-init (the
same schema a VM's cloud-init applies), and the script it installs is run against stand-in `docker`,
`git` and `curl` commands that record their arguments (the real image is built and run by Docker where
a daemon exists)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO

USER_DATA = REPO / "API" / "cloud-init.yaml"


def _cloud_init_schema(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["cloud-init", "schema", "--config-file", str(path)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(shutil.which("cloud-init") is None,
                    reason="Debian's cloud-init is not installed (.ci/run installs it: apt-get install cloud-init)")
def test_the_user_data_is_valid_cloud_config_and_the_validator_bites(tmp_path):
    out = _cloud_init_schema(USER_DATA)
    assert out.returncode == 0 and "Valid cloud-config" in out.stdout + out.stderr, out.stdout + out.stderr
    broken = yaml.safe_load(USER_DATA.read_text())
    broken["runcmd"] = 42  # not a list of commands
    bad = tmp_path / "bad.yaml"
    bad.write_text("#cloud-config\n" + yaml.safe_dump(broken))
    out = _cloud_init_schema(bad)
    assert out.returncode != 0 and "runcmd" in out.stdout + out.stderr


def test_the_user_data_installs_docker_and_runs_the_deploy_script_at_first_boot():
    text = USER_DATA.read_text()
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert {"docker.io", "git", "curl"} <= set(data["packages"])
    files = {f["path"]: f for f in data["write_files"]}
    assert files["/etc/chromatic-charm/model.env"]["permissions"] == "0600"  # credentials: root only
    assert data["runcmd"][-1] == ["/usr/local/sbin/chromatic-charm-deploy"]


@pytest.fixture
def deploy(tmp_path):
    """The deploy script of the user data, its /etc, /srv and /opt moved under tmp_path, and stand-ins
    for docker, git and curl that log their arguments to calls.log."""
    files = {f["path"]: f["content"] for f in yaml.safe_load(USER_DATA.read_text())["write_files"]}
    root = tmp_path / "vm"
    for path, content in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content.replace("/etc/chromatic-charm", str(root / "etc/chromatic-charm"))
                          .replace("/srv/chromatic-charm", str(root / "srv/chromatic-charm"))
                          .replace("/opt/chromatic-charm", str(root / "opt/chromatic-charm")))
    script = root / "usr/local/sbin/chromatic-charm-deploy"
    script.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    stubs = {
        "docker": 'echo "docker $*" >> "$LOG"; [ "$1 $2" != "container inspect" ] || exit 1',
        "git": 'echo "git $*" >> "$LOG"; for last; do :; done; mkdir -p "$last/API"',
        "curl": 'echo "curl $*" >> "$LOG"; case "$*" in *"/model"*) echo \'{"name": "default"}\';; esac',
    }
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(0o755)
    env_file = root / "etc/chromatic-charm/deploy.env"

    def run(**settings):
        text = env_file.read_text()
        for key, value in settings.items():
            text = "\n".join(f"{key}={value}" if line.startswith(f"{key}=") else line for line in text.splitlines())
        env_file.write_text(text + "\n")
        log.write_text("")
        out = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log)})
        return out, log.read_text().splitlines(), root

    return run


def test_deploy_without_a_repo_or_an_image_says_what_to_set(deploy):
    out, calls, _ = deploy()
    assert out.returncode == 1
    assert "set REPO (your clone of the repo) or IMAGE in" in out.stderr and "deploy.env" in out.stderr
    assert calls == []


def test_deploy_pulls_the_image_and_runs_it_with_a_restart_policy_the_port_and_the_model(deploy):
    out, calls, root = deploy(IMAGE="registry.example.com/chromatic-charm-api:1.0", MODEL="/models/generator.onnx")
    assert out.returncode == 0, out.stderr
    assert calls[0] == "docker pull registry.example.com/chromatic-charm-api:1.0"
    run = next(c for c in calls if c.startswith("docker run"))
    models = root / "srv/chromatic-charm/models"
    assert run == ("docker run -d --name chromatic-charm --restart unless-stopped --stop-timeout 35 -p 80:8000 "
                   f"-v {models}:/models:ro --env-file {root / 'etc/chromatic-charm/model.env'} "
                   "-e CHROMATIC_CHARM_MODEL=/models/generator.onnx registry.example.com/chromatic-charm-api:1.0")
    assert models.is_dir()
    assert any("/ready" in c for c in calls) and '{"name": "default"}' in out.stdout
    assert "ready on port 80" in out.stderr


def test_deploy_builds_the_image_from_the_repo_and_serves_the_default_model(deploy):
    out, calls, root = deploy(REPO="https://example.com/team/chromatic-charm.git", REF="v1", PORT="8080")
    assert out.returncode == 0, out.stderr
    src = root / "opt/chromatic-charm/src"
    assert calls[0] == f"git clone --quiet --depth 1 --branch v1 https://example.com/team/chromatic-charm.git {src}"
    assert calls[1] == (f"docker build --quiet --build-arg EXTRAS=serve -f {src}/API/Dockerfile "
                        f"-t chromatic-charm-api:local {src}")
    run = next(c for c in calls if c.startswith("docker run"))
    assert "-p 8080:8000" in run and "CHROMATIC_CHARM_MODEL" not in run and run.endswith("chromatic-charm-api:local")


def test_deploy_of_a_tracking_reference_builds_the_image_with_the_mlflow_client(deploy):
    out, calls, _ = deploy(REPO="https://example.com/team/chromatic-charm.git", MODEL="models:/chromatic-charm-pipeline@champion")
    assert out.returncode == 0, out.stderr
    build = next(c for c in calls if c.startswith("docker build"))
    assert "--build-arg EXTRAS=serve,registry" in build
    run = next(c for c in calls if c.startswith("docker run"))
    assert "-e CHROMATIC_CHARM_MODEL=models:/chromatic-charm-pipeline@champion" in run
