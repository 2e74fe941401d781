"""The command line: help, one-line errors, and the end-to-end demo on the shipped samples."""

import subprocess
import sys

import pytest

from chromatic_charm.cli import main

from conftest import REPO


def run_cli(*args, timeout=300, **kwargs):
    return subprocess.run([sys.executable, "-m", "chromatic_charm.cli", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


@pytest.mark.parametrize("command", ["prepare", "train", "demo"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: chromatic-charm " + command in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["train", "--lr-g", "fast"], "invalid float value: 'fast'"),
    (["train", "--model-size", "huge"], "invalid choice: 'huge'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_exit_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and message in err[0]


def test_invalid_values_exit_2_with_one_line(capsys):
    assert main(["train", "--batch-size", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "batch_size must be >= 1" in err[0]


def test_missing_data_says_to_prepare(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nothing"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run `chromatic-charm prepare` first" in err[0]


def test_missing_resume_checkpoint_is_one_line(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "none"), "--no-progress"]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_prepares_the_samples_and_trains(isolated_project):
    proc = run_cli("demo", "--photos", str(REPO / "samples"), "--epochs", "2", "--no-progress", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "prepared 32 of 34 images" in proc.stdout  # the two near-grayscale samples are set aside
    assert "done: run" in proc.stdout and "6 steps" in proc.stdout  # 26 train images, batch 8: 3 steps/epoch
    demo = isolated_project / "outputs" / "demo"
    assert (demo / "data" / "train.npy").is_file()
    from PIL import Image

    assert Image.open(demo / "samples.png").size == (3 * 64, 3 * 64)  # 3 val images: gray | colour | truth
    assert (isolated_project / "mlflow.db").is_file()
