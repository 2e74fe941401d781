"""The training notebook as a new user runs it on Colab: a fresh clone made by the notebook's own
install cell from the repository URL typed in its form, its own `pip install`, then every cell.

Mocked, because it exists only inside Colab: Colab's own module `google.colab` (`userdata` for the
secrets, `drive` for Google Drive), stubbed in `_stub` below as a folder on this machine. Everything
else is real: git, pip, a Jupyter kernel, the data preparation of the team's photo set (no Kaggle
credentials: the notebook says so in one line), the short training run and the recipe's, the FID
network, MLflow's local store, the ONNX export. The Python is a fresh virtual environment that sees
this environment's packages (Colab too comes with torch and friends preinstalled) but not this
checkout's `chromatic_charm`, which only the notebook's install cell brings in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from chromatic_charm.tracking.target import TOKEN_VARIABLES, USERNAME_VARIABLES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import deliverables  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "Entrenamiento" / "training.ipynb"

pytestmark = pytest.mark.slow

_USERDATA = '''
import json, os
from pathlib import Path


class SecretNotFoundError(Exception):
    pass


class NotebookAccessError(Exception):
    pass


def get(key):
    with open(os.environ["COLAB_STUB_LOG"], "a") as log:
        log.write(json.dumps(["userdata.get", key]) + "\\n")
    secrets = json.loads(Path(os.environ["COLAB_STUB_SECRETS"]).read_text())
    if key not in secrets:
        raise SecretNotFoundError(key)
    return secrets[key]
'''
_DRIVE = '''
import json, os
from pathlib import Path


def mount(mountpoint, force_remount=False):
    with open(os.environ["COLAB_STUB_LOG"], "a") as log:
        log.write(json.dumps(["drive.mount", str(mountpoint)]) + "\\n")
    Path(mountpoint, "MyDrive").mkdir(parents=True, exist_ok=True)
'''


def _stub(folder: Path) -> Path:
    """google.colab with userdata and drive (a namespace portion beside protobuf's `google`)."""
    package = folder / "google" / "colab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Stand-in for Colab\'s module, for tests (see tests/test_colab.py)."""\n')
    (package / "userdata.py").write_text(_USERDATA)
    (package / "drive.py").write_text(_DRIVE)
    return folder


def _colab_python(tmp_path: Path, stubs: Path) -> Path:
    """A fresh venv that sees this environment's site-packages (not their .pth files, so not this
    checkout's editable chromatic_charm) and imports google.colab at start, as Colab's kernel does."""
    venv = tmp_path / "colab-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "colab_stub.pth").write_text(f"{stubs}\n{sysconfig.get_paths()['purelib']}\nimport google.colab\n")
    return python


def test_the_training_notebook_runs_on_colab_from_a_fresh_clone(tmp_path):
    stubs = _stub(tmp_path / "stubs")
    python = _colab_python(tmp_path, stubs)
    content = tmp_path / "content"  # Colab's working folder
    content.mkdir()
    drive = tmp_path / "drive"
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"DAGSHUB_USERNAME": "estudiante-secreto"}))  # no DAGSHUB_REPO: the local store
    log = tmp_path / "colab.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "DAGSHUB_", "KAGGLE_", "CHROMATIC_CHARM_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(COLAB_STUB_SECRETS=str(secrets), COLAB_STUB_LOG=str(log), HOME=str(tmp_path / "home"),
               PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}")
    out = tmp_path / "training.ipynb"
    args = [str(python), "-m", "papermill", str(NOTEBOOK), str(out), "--cwd", str(content), "--no-progress-bar",
            "--kernel", "python3", "-p", "repo_url", str(REPO), "-p", "model_size", "tiny", "-p", "image_size", "64",
            "-p", "encoder", "none", "-p", "l1_epochs", "1", "-p", "gan_epochs", "1", "-p", "grid", "2e-4:2e-4",
            "-p", "crops", "1", "-p", "num_examples", "2", "-p", "quick_epochs", "1", "-p", "quick_max_steps", "3",
            "-p", "progress", "False", "-p", "checkpoints_on_drive", "True", "-p", "drive_mount", str(drive)]
    # papermill injects a name the form lacks without a word, and the notebook would train its full recipe
    given = {args[i + 1] for i, a in enumerate(args) if a == "-p"}
    assert given <= set(deliverables.form_parameters(NOTEBOOK)), given
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]

    clone = content / "chromatic-charm"
    assert (clone / ".git").is_dir() and (clone / "outputs" / "notebook" / "generator.onnx").is_file()
    # the package the kernel used is the clone's, installed by the notebook's own cell
    pth = subprocess.run([str(python), "-m", "pip", "show", "-f", "chromatic-charm"], env=env, capture_output=True,
                         text=True).stdout
    assert "Editable project location: " + str(clone) in pth, pth
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    asked = [key for kind, key in calls if kind == "userdata.get"]
    assert asked == ["DAGSHUB_REPO", *USERNAME_VARIABLES, *TOKEN_VARIABLES, "KAGGLE_USERNAME", "KAGGLE_KEY"]
    assert ["drive.mount", str(drive)] in calls
    assert list((drive / "MyDrive" / "chromatic-charm" / "checkpoints").glob("*/last.pt"))

    nb = json.loads(out.read_text())
    text = "\n".join(deliverables.output_text(o) for c in nb["cells"] for o in c.get("outputs", []))
    assert "Entorno: Colab" in text and "Secretos leídos: DAGSHUB_USERNAME" in text
    assert "estudiante-secreto" not in text  # a secret's value is never shown
    assert "**Campeón:** `sweep-" in text and "outputs/notebook/generator.onnx" in text  # its own runs' champion
    assert "**1 corrida adversarial** y 1 de referencia (solo L1)" in text and "(solo L1, referencia)" in text
    # no Kaggle secrets: one line says so and how to add them, and the team's photos are used, not the samples
    told = [deliverables.output_text(o) for c in nb["cells"] for o in c.get("outputs", [])
            if "Sin credenciales de Kaggle" in deliverables.output_text(o)]
    assert len(told) == 1 and "\n" not in told[0].strip(), told
    assert "`KAGGLE_USERNAME` y `KAGGLE_KEY`" in told[0] and "fotos con licencia abierta de `Data/Raw Data/photos`" in told[0]
    assert "**Datos** (`photos`): `Data/Raw Data/photos`" in text and "el FID está sesgado hacia arriba" in text
    assert re.search(r"\*\*Corrida MLflow\*\* `notebook-corto-[\d-]+` \(id `[0-9a-f]{32}`\)", text)
    assert sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", [])) >= 2
    assert deliverables.problems(nb, forbidden=(str(tmp_path),)) == []
