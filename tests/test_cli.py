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
    (["train", "--crop-scale", "0.25"], "argument --crop-scale: expected 2 arguments"),
    (["evaluate", "run", "--scales", "0,2"], "'0,2': a scale is 1 (the whole photo) to 8"),
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
    assert main(["train", "--crop-scale", "0.5", "0.2"]) == 2
    assert "crop_scale takes two shares of the photo's area, 0 < MIN <= MAX <= 1" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only our own user-facing errors become one line: a ValueError from a bug deep in a command is raised."""
    from chromatic_charm import cli

    def broken(args):
        raise ValueError("a bug deep inside")

    monkeypatch.setitem(cli.COMMANDS, "prepare", broken)
    with pytest.raises(ValueError, match="a bug deep inside"):
        main(["prepare", "--source", "nowhere"])


def test_an_unexpected_error_on_a_serving_only_install_is_itself(tmp_path):
    """Without torch (a serving-only install), an unexpected error surfaces as itself, not as a missing torch."""
    code = f"""
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'")
sys.meta_path.insert(0, NoTorch())
from chromatic_charm import cli
def broken(args):
    raise RuntimeError("the real problem")
cli.COMMANDS["colorize"] = broken
try:
    cli.main(["colorize", {str(tmp_path / "in.png")!r}, "-o", {str(tmp_path / "out")!r}])
except BaseException as exc:
    print(type(exc).__name__, exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "RuntimeError the real problem", out.stderr[-2000:]


def test_missing_data_says_to_prepare(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nothing"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run `chromatic-charm prepare` first" in err[0]


def test_missing_resume_checkpoint_is_one_line(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "none"), "--no-progress"]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_resume_keeps_the_runs_own_settings(clean_data, tmp_path, capsys):
    """`--resume` without `--epochs` trains to the run's own epoch count, not the CLI's default; `--epochs`
    may shorten it; a flag that would change the model or its optimisation is refused in one line."""
    from chromatic_charm.training import checkpoint

    ckpt = tmp_path / "run"
    tiny = ["--data", str(clean_data), "--model-size", "tiny", "--image-size", "32", "--batch-size", "8",
            "--device", "cpu", "--workers", "0", "--experiment", "tests", "--no-progress"]
    # 48 train images, batch 8: 6 steps an epoch; stopped at step 4 as a crash would stop it
    assert main(["train", *tiny, "--epochs", "3", "--max-steps", "4", "--checkpoint-dir", str(ckpt)]) == 0
    capsys.readouterr()

    assert main(["train", "--resume", str(ckpt), "--lr-g", "1e-3", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lr_g 0.001 (the run has 0.0002) cannot change" in err[0]
    assert checkpoint.load(ckpt / "last.pt")["step"] == 4  # nothing trained

    assert main(["train", "--resume", str(ckpt), "--max-steps", "100", "--epochs", "2", "--no-progress"]) == 0
    state = checkpoint.load(ckpt / "last.pt")
    assert state["step"] == 12 and state["train_config"]["epochs"] == 2  # shortened to 2 epochs
    assert main(["train", "--resume", str(ckpt), "--max-steps", "100", "--no-progress"]) == 0
    assert checkpoint.load(ckpt / "last.pt")["step"] == 12  # the run's own 2 epochs, not the CLI's default 20


@pytest.mark.slow
def test_demo_prepares_the_samples_and_trains(isolated_project):
    proc = run_cli("demo", "--photos", str(REPO / "samples"), "--epochs", "2", "--no-progress", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # of the two samples labelled near-grayscale, the gray one is set aside; opencv__data-aero1 (mean chroma
    # 5.4, many hues: a faint colour photo to the filter) is kept
    assert "prepared 33 of 34 images" in proc.stdout and "grayscale: 1" in proc.stdout
    assert "done: run" in proc.stdout and "6 steps" in proc.stdout  # 27 train images, batch 8: 3 steps/epoch
    demo = isolated_project / "outputs" / "demo"
    assert (demo / "data" / "train.npy").is_file()
    from PIL import Image

    assert Image.open(demo / "samples.png").size == (3 * 64, 3 * 64)  # 3 val images: gray | colour | truth
    assert (isolated_project / "mlflow.db").is_file()


def test_sweep_grid_is_read_and_written_the_same_way(capsys):
    from chromatic_charm.config import DEFAULT_SWEEP_GRID
    from chromatic_charm.errors import UserError
    from chromatic_charm.sweep import format_grid, parse_grid

    assert format_grid(DEFAULT_SWEEP_GRID) == "1e-4:3e-4,2e-4:2e-4,3e-4:1e-4"
    assert parse_grid(format_grid(DEFAULT_SWEEP_GRID)) == DEFAULT_SWEEP_GRID
    assert parse_grid("1.5e-4:0.01") == ((1.5e-4, 0.01),)
    for bad in ("fast", "1e-4", "1e-4:-1", ""):
        with pytest.raises(UserError, match="--grid must look like"):
            parse_grid(bad)
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert "the original study's 1e-4:3e-4,2e-4:2e-4,3e-4:1e-4" in " ".join(capsys.readouterr().out.split())


def test_every_train_config_field_is_a_train_flag_with_its_own_help():
    """The train flags are built from TrainConfig: each field one flag, its help from the field."""
    from dataclasses import fields

    from chromatic_charm.cli import build_parser
    from chromatic_charm.training.config import TrainConfig

    parsers = [a for a in build_parser()._actions if a.dest == "command"][0].choices
    train = {a.dest: a for a in parsers["train"]._actions}
    for f in fields(TrainConfig):
        assert f.name in train, f"TrainConfig.{f.name} has no train flag"
        assert train[f.name].default is None and f.metadata["help"].replace("%", "%%") in train[f.name].help
    sweep = {a.dest for a in parsers["sweep"]._actions}
    assert {"lr_g", "lr_d", "run_name", "resume"}.isdisjoint(sweep) and "model_size" in sweep
    args = build_parser().parse_args(["train", "--no-fused-adam", "--workers", "3", "--lr-g", "1e-3"])
    given = {k: v for k, v in vars(args).items() if k in TrainConfig.field_names() and v is not None}
    assert given == {"fused_adam": False, "num_workers": 3, "lr_g": 1e-3}
    args = build_parser().parse_args(["train", "--crop-scale", "0.25", "1"])
    assert TrainConfig(crop_scale=args.crop_scale).crop_scale == (0.25, 1.0)
