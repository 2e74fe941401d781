"""dvc.yaml: every stage depends on the code it runs, so a change to that code re-runs the stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

# The module each stage's command runs (through the CLI, `chromatic_charm/cli.py`).
STAGE_MODULES = {
    "prepare": "chromatic_charm.data.prepare",
    "train_l1": "chromatic_charm.training.loop",
    "train": "chromatic_charm.training.loop",
    "train_l1_control": "chromatic_charm.training.loop",
    "evaluate_l1_control": "chromatic_charm.evaluation",
    "evaluate_l1": "chromatic_charm.evaluation",
    "evaluate": "chromatic_charm.evaluation",
    "validate": "chromatic_charm.evaluation",
    "select": "chromatic_charm.selection, chromatic_charm.tracking",  # it imports tracking when it runs
    "export": "chromatic_charm.export",
}


def package_files(module: str) -> set[str]:
    """The package's source files (relative to the repo) that importing the CLI and ``module`` loads."""
    code = ("import json, sys, chromatic_charm.cli, " + module + "\n"
            "print(json.dumps(sorted(m.__file__ for n, m in sys.modules.items()\n"
            "    if n.split('.')[0] == 'chromatic_charm' and getattr(m, '__file__', None))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    return {Path(f).resolve().relative_to(REPO).as_posix() for f in json.loads(out.stdout)}


@pytest.mark.parametrize("stage", sorted(STAGE_MODULES))
def test_each_stage_depends_on_the_code_it_runs(stage):
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]
    deps = [d for d in (spec.get("do", spec)).get("deps", []) if "${" not in d]
    files = package_files(STAGE_MODULES[stage])
    assert "src/chromatic_charm/config.py" in files  # the import closure was found

    def covered(path: str) -> bool:
        return any(path == d.rstrip("/") or path.startswith(d.rstrip("/") + "/") for d in deps)

    missing = sorted(f for f in files if not covered(f))
    assert not missing, f"stage {stage} runs {missing} but does not depend on it"
